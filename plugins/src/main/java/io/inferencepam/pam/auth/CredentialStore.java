package io.inferencepam.pam.auth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Upstream credentials in Redis (layout: {@code redis-schema/README.md}, schema 2). One hash per
 * credential, {@code pam:cred:{name}}, holding the current version's ciphertext ({@code enc:<n>},
 * bound to name and version) and the previous version's metadata; a new version is written and
 * announced on {@link #CHANNEL} atomically by {@code credential_put.lua}. Blocking: call from the
 * blocking executor or a CLI thread only.
 */
public final class CredentialStore {
    public static final String CHANNEL = "pam:cred:changed";
    /** Hash field prefix of the current version's schema-2 ciphertext. */
    static final String CIPHERTEXT = "enc:";
    /** Hash field prefix of a schema-1 ciphertext (name-only AAD): read by the migration only. */
    static final String SCHEMA1_CIPHERTEXT = "v:";
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final String PUT_SCRIPT = loadScript("credential_put.lua");
    private static final String MIGRATE_SCRIPT = loadScript("credential_migrate.lua");
    /** Concurrent writers of one credential retry this often before giving up (each retry is one round trip). */
    private static final int PUT_ATTEMPTS = 5;

    private final UnifiedJedis redis;
    private final CredentialCipher cipher;

    public CredentialStore(UnifiedJedis redis, CredentialCipher cipher) {
        this.redis = redis;
        this.cipher = cipher;
    }

    public static String key(String name) {
        return "pam:cred:{" + name + "}";
    }

    /** A usable credential: the secret and which version it is. {@link #toString()} hides the secret. */
    public record Credential(String name, long version, String secret) {
        @Override
        public String toString() {
            return "Credential[" + name + " v" + version + "]";
        }
    }

    /** Metadata of one stored version (never the secret). */
    public record VersionInfo(long version, long createdAtMillis, String state, long validUntilMillis) {
    }

    public enum Mode { SET, ROTATE }

    /**
     * Stores a new version. {@code ROTATE} keeps the previous version valid for {@code overlap};
     * {@code SET} creates the credential or replaces it at once. Returns the new version.
     */
    public long put(String name, String secret, Mode mode, Duration overlap, long nowMillis) {
        requireName(name);
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("the secret is empty");
        }
        // The ciphertext is bound to the version it will be stored as, so read the current one first;
        // the script refuses (STALE) if another writer got in between, and we encrypt again.
        for (int attempt = 1; ; attempt++) {
            long current = parse(redis.hget(key(name), "current"));
            try {
                Object v = redis.eval(PUT_SCRIPT, List.of(key(name)), List.of(cipher.encrypt(name, current + 1, secret),
                        Long.toString(nowMillis), Long.toString(mode == Mode.SET ? 0 : overlap.toMillis()),
                        cipher.fingerprint(), name, CHANNEL, mode == Mode.SET ? "set" : "rotate", Long.toString(current)));
                return ((Number) v).longValue();
            } catch (JedisDataException e) {
                if (attempt >= PUT_ATTEMPTS || e.getMessage() == null || !e.getMessage().startsWith("STALE")) {
                    throw e;
                }
            }
        }
    }

    /** The current version, decrypted; empty if the credential does not exist. */
    public Optional<Credential> current(String name) throws GeneralSecurityException {
        Map<String, String> h = redis.hgetAll(key(name));
        String cur = h.get("current");
        if (cur == null) {
            return Optional.empty();
        }
        checkKey(name, h);
        long version = Long.parseLong(cur);
        String stored = h.get(CIPHERTEXT + cur);
        if (stored == null) {
            if (h.containsKey(SCHEMA1_CIPHERTEXT + cur)) {
                // Never decrypted here: a name-only AAD would let an old version be copied into this slot.
                throw new GeneralSecurityException("credential " + name + " is stored in the schema-1 format (its encryption does"
                        + " not bind the version): run `pamctl credential migrate " + name + "` once");
            }
            throw new GeneralSecurityException("credential " + name + " is missing its current version");
        }
        try {
            return Optional.of(new Credential(name, version, cipher.decrypt(name, version, stored)));
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException("credential " + name + " v" + version
                    + " does not decrypt: altered, or not written for this name and version");
        }
    }

    /** What {@link #migrate} did. */
    public enum Migration { MIGRATED, ALREADY_MIGRATED, NOT_FOUND }

    /**
     * Re-encrypts a schema-1 credential's current version for schema 2 (AAD = name and version).
     * The schema-1 ciphertext is decrypted here, by the operator holding the key, once; runners
     * never accept it. Throws if the stored version does not decrypt (another key, altered).
     */
    public Migration migrate(String name) throws GeneralSecurityException {
        requireName(name);
        Map<String, String> h = redis.hgetAll(key(name));
        String cur = h.get("current");
        if (cur == null) {
            return Migration.NOT_FOUND;
        }
        checkKey(name, h);
        long version = Long.parseLong(cur);
        if (h.containsKey(CIPHERTEXT + cur)) {
            current(name); // throws if it does not decrypt
            return Migration.ALREADY_MIGRATED;
        }
        String old = h.get(SCHEMA1_CIPHERTEXT + cur);
        if (old == null) {
            throw new GeneralSecurityException("credential " + name + " is missing its current version");
        }
        String secret;
        try {
            secret = cipher.decryptSchema1(name, old);
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException("credential " + name + " v" + version + " does not decrypt: altered, or another key");
        }
        redis.eval(MIGRATE_SCRIPT, List.of(key(name)), List.of(cur, old, cipher.encrypt(name, version, secret), name, CHANNEL));
        return Migration.MIGRATED;
    }

    /** Names of every stored credential (SCAN; standalone and Sentinel: on Redis Cluster, name them). */
    public List<String> names() {
        List<String> out = new ArrayList<>();
        ScanParams params = new ScanParams().match("pam:cred:{*}").count(500);
        String cursor = ScanParams.SCAN_POINTER_START;
        do {
            ScanResult<String> page = redis.scan(cursor, params);
            for (String k : page.getResult()) {
                String n = k.substring("pam:cred:{".length(), k.length() - 1);
                if (NAME.matcher(n).matches()) {
                    out.add(n);
                }
            }
            cursor = page.getCursor();
        } while (!ScanParams.SCAN_POINTER_START.equals(cursor));
        out.sort(null);
        return out;
    }

    private void checkKey(String name, Map<String, String> h) throws GeneralSecurityException {
        String kid = h.get("key_id");
        if (kid != null && !kid.equals(cipher.fingerprint())) {
            throw new GeneralSecurityException("credential " + name + " was stored with a different " + CredentialCipher.SETTING);
        }
    }

    public List<VersionInfo> versions(String name, long nowMillis) {
        requireName(name);
        Map<String, String> h = redis.hgetAll(key(name));
        List<VersionInfo> out = new ArrayList<>();
        if (h.get("current") == null) {
            return out;
        }
        long cur = Long.parseLong(h.get("current"));
        out.add(new VersionInfo(cur, parse(h.get("at:" + cur)), "current", 0));
        String prev = h.get("prev");
        if (prev != null) {
            long until = parse(h.get("prev_until"));
            out.add(new VersionInfo(Long.parseLong(prev), parse(h.get("at:" + prev)),
                    until > nowMillis ? "previous (overlap)" : "previous (expired)", until));
        }
        return out;
    }

    static void requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("credential names are 1-64 characters of A-Z a-z 0-9 . _ -");
        }
    }

    private static long parse(String s) {
        return s == null ? 0 : Long.parseLong(s);
    }

    private static String loadScript(String file) {
        try (InputStream in = CredentialStore.class.getResourceAsStream("/io/inferencepam/pam/redis/lua/" + file)) {
            if (in == null) {
                throw new IllegalStateException("missing Lua script " + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
