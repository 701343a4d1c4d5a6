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

/**
 * Upstream credentials in Redis (layout: {@code redis-schema/README.md}). One hash per credential,
 * {@code pam:cred:{name}}, holding encrypted versions; a new version is written and announced on
 * {@link #CHANNEL} atomically by {@code credential_put.lua}. Blocking: call from the blocking
 * executor or a CLI thread only.
 */
public final class CredentialStore {
    public static final String CHANNEL = "pam:cred:changed";
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final String PUT_SCRIPT = loadScript("credential_put.lua");

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
        Object v = redis.eval(PUT_SCRIPT, List.of(key(name)), List.of(cipher.encrypt(name, secret),
                Long.toString(nowMillis), Long.toString(mode == Mode.SET ? 0 : overlap.toMillis()),
                cipher.fingerprint(), name, CHANNEL, mode == Mode.SET ? "set" : "rotate"));
        return ((Number) v).longValue();
    }

    /** The current version, decrypted; empty if the credential does not exist. */
    public Optional<Credential> current(String name) throws GeneralSecurityException {
        Map<String, String> h = redis.hgetAll(key(name));
        String cur = h.get("current");
        if (cur == null) {
            return Optional.empty();
        }
        String kid = h.get("key_id");
        if (kid != null && !kid.equals(cipher.fingerprint())) {
            throw new GeneralSecurityException("credential " + name + " was stored with a different " + CredentialCipher.SETTING);
        }
        String stored = h.get("v:" + cur);
        if (stored == null) {
            throw new GeneralSecurityException("credential " + name + " is missing its current version");
        }
        return Optional.of(new Credential(name, Long.parseLong(cur), cipher.decrypt(name, stored)));
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
        if (prev != null && h.containsKey("v:" + prev)) {
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
