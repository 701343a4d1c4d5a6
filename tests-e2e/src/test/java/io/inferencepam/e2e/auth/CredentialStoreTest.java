package io.inferencepam.e2e.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.pam.auth.CredentialCache;
import io.inferencepam.pam.auth.CredentialCipher;
import io.inferencepam.pam.auth.CredentialStore;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.redis.PamRedis;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The credential store against a real redis-server: encryption at rest, versions, rotation, pub/sub, pamctl. */
class CredentialStoreTest {
    static RedisServer redis;
    static PamRedis client;
    static CredentialCipher cipher;
    static String keyB64;
    static final ExecutorService blocking = Executors.newFixedThreadPool(2);

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        client = new PamRedis(redis.url());
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        keyB64 = Base64.getEncoder().encodeToString(key);
        cipher = CredentialCipher.fromSetting(Optional.of(keyB64)).get().orElseThrow();
    }

    @AfterAll
    static void stop() throws Exception {
        blocking.shutdownNow();
        client.close();
        redis.close();
    }

    @Test
    void secretsAreEncryptedAtRestAndVersioned() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        assertThat(store.put("enc-1", "sk-plain-secret", CredentialStore.Mode.SET, Duration.ZERO, 1000)).isEqualTo(1);
        Map<String, String> raw = client.client().hgetAll(CredentialStore.key("enc-1"));
        assertThat(raw.toString()).doesNotContain("sk-plain-secret");
        assertThat(store.current("enc-1")).hasValueSatisfying(c -> {
            assertThat(c.secret()).isEqualTo("sk-plain-secret");
            assertThat(c.version()).isEqualTo(1);
            assertThat(c.toString()).doesNotContain("sk-plain-secret");
        });
        assertThat(store.put("enc-1", "sk-2", CredentialStore.Mode.ROTATE, Duration.ofSeconds(60), 2000)).isEqualTo(2);
        assertThat(store.versions("enc-1", 3000)).extracting(CredentialStore.VersionInfo::version, CredentialStore.VersionInfo::state)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(2L, "current"), org.assertj.core.groups.Tuple.tuple(1L, "previous (overlap)"));
        assertThat(store.versions("enc-1", 70_000).get(1).state()).isEqualTo("previous (expired)");
        // a third version drops v1; v2 stays listed as the previous version, but only v3's ciphertext is stored
        store.put("enc-1", "sk-3", CredentialStore.Mode.ROTATE, Duration.ofSeconds(60), 4000);
        assertThat(client.client().hgetAll(CredentialStore.key("enc-1"))).doesNotContainKeys("at:1", "enc:1", "enc:2")
                .containsKeys("at:2", "enc:3");
        assertThat(store.versions("enc-1", 4000)).extracting(CredentialStore.VersionInfo::version).containsExactly(3L, 2L);
        // set replaces at once: no previous version survives
        store.put("enc-1", "sk-4", CredentialStore.Mode.SET, Duration.ofSeconds(60), 5000);
        assertThat(store.versions("enc-1", 5000)).hasSize(1);
        assertThat(store.current("enc-1").orElseThrow().secret()).isEqualTo("sk-4");
    }

    @Test
    void wrongKeyTamperingAndMovedCiphertextsAreRefused() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("tamper-1", "sk-a", CredentialStore.Mode.SET, Duration.ZERO, 1);
        byte[] other = new byte[32];
        CredentialCipher otherCipher = CredentialCipher.fromSetting(Optional.of(Base64.getEncoder().encodeToString(other))).get().orElseThrow();
        assertThatThrownBy(() -> new CredentialStore(client.client(), otherCipher).current("tamper-1"))
                .isInstanceOf(GeneralSecurityException.class).hasMessageNotContaining("sk-a");
        assertThatThrownBy(() -> new CredentialStore(client.client(), otherCipher).put("tamper-1", "x", CredentialStore.Mode.ROTATE, Duration.ZERO, 2))
                .hasMessageContaining("WRONGKEY");
        // flip one ciphertext byte
        String ct = client.client().hget(CredentialStore.key("tamper-1"), "enc:1");
        byte[] b = Base64.getDecoder().decode(ct);
        b[b.length - 1] ^= 1;
        client.client().hset(CredentialStore.key("tamper-1"), "enc:1", Base64.getEncoder().encodeToString(b));
        assertThatThrownBy(() -> store.current("tamper-1")).isInstanceOf(GeneralSecurityException.class);
        // a ciphertext copied to another credential name does not decrypt (name is the AAD)
        store.put("moved-a", "sk-moved", CredentialStore.Mode.SET, Duration.ZERO, 1);
        store.put("moved-b", "sk-b", CredentialStore.Mode.SET, Duration.ZERO, 1);
        client.client().hset(CredentialStore.key("moved-b"), "enc:1", client.client().hget(CredentialStore.key("moved-a"), "enc:1"));
        assertThatThrownBy(() -> store.current("moved-b")).isInstanceOf(GeneralSecurityException.class);
        assertThatThrownBy(() -> store.put("bad}{name", "x", CredentialStore.Mode.SET, Duration.ZERO, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.put("nope-1", "x", CredentialStore.Mode.ROTATE, Duration.ZERO, 1)).hasMessageContaining("NOCRED");
    }

    @Test
    void keySettingProblemsAreExplainedWithoutTheKey() {
        assertThat(CredentialCipher.fromSetting(Optional.empty()).problem()).contains("not set");
        assertThat(CredentialCipher.fromSetting(Optional.of("@@@")).problem()).contains("base64");
        assertThat(CredentialCipher.fromSetting(Optional.of(Base64.getEncoder().encodeToString(new byte[16]))).problem())
                .contains("32 bytes");
    }

    @Test
    void anInvalidationOfAnotherCredentialDoesNotThrowThisOnesRefreshAway() throws Exception {
        // Review finding: one generation counter for every credential let anyone who can PUBLISH on the
        // invalidation channel (or any rotation) keep a credential from refreshing: served up to max-stale.
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("gen-a", "sk-a", CredentialStore.Mode.SET, Duration.ZERO, 1);
        store.put("gen-b", "sk-b", CredentialStore.Mode.SET, Duration.ZERO, 1);
        java.util.concurrent.LinkedBlockingQueue<Runnable> loads = new java.util.concurrent.LinkedBlockingQueue<>();
        try (CredentialCache cache = new CredentialCache(client, cipher, loads::add, Duration.ofMillis(400), Duration.ofMinutes(5))) {
            cache.get("gen-a"); // starts the subscription, whose onSubscribe invalidates everything once
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis(java.net.URI.create(redis.url()))) {
                while (j.pubsubNumSub(CredentialStore.CHANNEL).getOrDefault(CredentialStore.CHANNEL, 0L) == 0
                        && System.nanoTime() < until) {
                    Thread.sleep(20);
                }
            }
            Thread.sleep(200);
            for (Runnable r; (r = loads.poll()) != null; ) {
                r.run();
            }
            var a = cache.get("gen-a").toCompletableFuture();
            for (Runnable r; (r = loads.poll()) != null; ) {
                r.run();
            }
            var b = cache.get("gen-b").toCompletableFuture();
            loads.take().run();
            assertThat(a.get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-a");
            assertThat(b.get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-b");
            Thread.sleep(450); // gen-b is due for its background refresh
            assertThat(cache.get("gen-b").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-b");
            assertThat(loads).as("a background refresh of gen-b").hasSize(1);
            cache.invalidate("gen-a"); // announced while gen-b's refresh is in flight
            loads.take().run();
            cache.get("gen-b");
            assertThat(loads).as("gen-b's refresh was kept: no second read within the refresh interval").isEmpty();
        }
    }

    @Test
    void aLoadThatStartedBeforeAnInvalidationIsNotCached() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("race-1", "sk-old", CredentialStore.Mode.SET, Duration.ZERO, 1);
        java.util.concurrent.LinkedBlockingQueue<Runnable> loads = new java.util.concurrent.LinkedBlockingQueue<>();
        try (CredentialCache cache = new CredentialCache(client, cipher, loads::add, Duration.ofHours(1), Duration.ofMinutes(5))) {
            Thread.sleep(300); // let the subscription settle (its onSubscribe invalidates everything once)
            var first = cache.get("race-1").toCompletableFuture();
            cache.invalidate("race-1"); // a rotation announced while the read above is still in flight
            loads.take().run();         // the read completes afterwards, with what it read
            assertThat(first.get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-old");
            var second = cache.get("race-1").toCompletableFuture();
            assertThat(loads).as("the next call reads the store again instead of the possibly replaced value").hasSize(1);
            loads.take().run();
            assertThat(second.get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-old");
        }
    }

    @Test
    void rotationInvalidatesTheRunnerCacheWithinOneSecond() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("pubsub-1", "sk-old", CredentialStore.Mode.SET, Duration.ZERO, 1);
        try (CredentialCache cache = new CredentialCache(client, cipher, blocking, Duration.ofHours(1), Duration.ofMinutes(5))) {
            assertThat(cache.get("pubsub-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-old");
            Thread.sleep(300); // let the subscription settle (its onSubscribe clears the cache once)
            assertThat(cache.get("pubsub-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-old");
            store.put("pubsub-1", "sk-new", CredentialStore.Mode.ROTATE, Duration.ofSeconds(30), 2);
            long t0 = System.nanoTime();
            String seen = "";
            while (System.nanoTime() - t0 < 1_000_000_000L && !seen.equals("sk-new")) {
                seen = cache.get("pubsub-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret();
                Thread.sleep(10);
            }
            // the cache TTL is an hour: only the pub/sub message can explain the change
            assertThat(seen).isEqualTo("sk-new");
        }
    }

    @Test
    void redisOutageServesARecentSecretThenFailsClosed() throws Exception {
        RedisServer own = RedisServer.start();
        try (PamRedis r = new PamRedis(own.url())) {
            new CredentialStore(r.client(), cipher).put("outage-1", "sk-o", CredentialStore.Mode.SET, Duration.ZERO, 1);
            try (CredentialCache cache = new CredentialCache(r, cipher, blocking, Duration.ZERO, Duration.ofMinutes(5));
                 CredentialCache strict = new CredentialCache(r, cipher, blocking, Duration.ZERO, Duration.ZERO)) {
                assertThat(cache.get("outage-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-o");
                assertThat(strict.get("outage-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-o");
                Thread.sleep(300); // the first subscription clears the cache once (messages may have been missed before it)
                assertThat(cache.get("outage-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-o");
                own.stop();
                assertThat(cache.get("outage-1").toCompletableFuture().get(10, TimeUnit.SECONDS).secret()).isEqualTo("sk-o");
                assertThatThrownBy(() -> strict.get("outage-1").toCompletableFuture().get(10, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(CredentialCache.Unavailable.class).hasMessageNotContaining("sk-o");
            }
        } finally {
            own.stop();
        }
    }

    @Test
    void anOldVersionCopiedIntoTheCurrentSlotDoesNotDecrypt() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("rollback-1", "sk-old-1", CredentialStore.Mode.SET, Duration.ZERO, 1);
        Map<String, String> v1 = client.client().hgetAll(CredentialStore.key("rollback-1"));
        store.put("rollback-1", "sk-new-2", CredentialStore.Mode.ROTATE, Duration.ofSeconds(60), 2);
        // someone who can write Redis puts version 1's ciphertext (saved or retained) into version 2's slot
        Map<String, String> v2 = client.client().hgetAll(CredentialStore.key("rollback-1"));
        for (Map.Entry<String, String> f : v1.entrySet()) {
            if (f.getValue().length() > 20 && v2.containsKey(f.getKey().replace("1", "2"))) {
                client.client().hset(CredentialStore.key("rollback-1"), f.getKey().replace("1", "2"), f.getValue());
            }
        }
        assertThat(client.client().hgetAll(CredentialStore.key("rollback-1"))).as("the copy happened").isNotEqualTo(v2);
        assertThatThrownBy(() -> store.current("rollback-1")).isInstanceOf(GeneralSecurityException.class)
                .hasMessageNotContaining("sk-old-1");
    }

    @Test
    void noRetainedVersionCanBeMadeCurrentAgain() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("rollback-2", "sk-old-1", CredentialStore.Mode.SET, Duration.ZERO, 1);
        store.put("rollback-2", "sk-new-2", CredentialStore.Mode.ROTATE, Duration.ofSeconds(60), 2);
        // the previous version is listed (its overlap window) but its ciphertext is not kept
        assertThat(store.versions("rollback-2", 3)).extracting(CredentialStore.VersionInfo::version).containsExactly(2L, 1L);
        assertThat(client.client().hgetAll(CredentialStore.key("rollback-2")).values())
                .as("exactly one ciphertext is stored").filteredOn(v -> v.length() > 20).hasSize(1);
        client.client().hset(CredentialStore.key("rollback-2"), "current", "1");
        assertThat(catching(() -> store.current("rollback-2"))).as("pointing current back at version 1")
                .isNotEqualTo("sk-old-1");
    }

    /** The secret a read returns, or the exception's class name. */
    static String catching(java.util.concurrent.Callable<Optional<CredentialStore.Credential>> read) {
        try {
            return read.call().map(CredentialStore.Credential::secret).orElse("(none)");
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    /** A ciphertext as schema 1 wrote it: AES-256-GCM with the credential name alone as associated data. */
    static String schema1Ciphertext(String name, String secret) throws Exception {
        byte[] nonce = new byte[12];
        new SecureRandom().nextBytes(nonce);
        javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
        c.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(Base64.getDecoder().decode(keyB64), "AES"),
                new javax.crypto.spec.GCMParameterSpec(128, nonce));
        c.updateAAD(("inference-pam credential " + name).getBytes(StandardCharsets.UTF_8));
        byte[] ct = c.doFinal(secret.getBytes(StandardCharsets.UTF_8));
        byte[] all = new byte[nonce.length + ct.length];
        System.arraycopy(nonce, 0, all, 0, nonce.length);
        System.arraycopy(ct, 0, all, nonce.length, ct.length);
        return Base64.getEncoder().encodeToString(all);
    }

    /** Writes a credential exactly as schema 1 stored it: versions 1 (previous) and 2 (current), both ciphertexts kept. */
    static void writeSchema1(String name, String v1, String v2) throws Exception {
        client.client().hset(CredentialStore.key(name), Map.of("current", "2", "v:1", schema1Ciphertext(name, v1),
                "v:2", schema1Ciphertext(name, v2), "at:1", "1", "at:2", "2", "prev", "1", "prev_until", "60002",
                "key_id", cipher.fingerprint()));
    }

    @Test
    void schema1CredentialsAreRefusedUntilMigratedAndThenServed() throws Exception {
        writeSchema1("legacy-1", "sk-legacy-1", "sk-legacy-2");
        CredentialStore store = new CredentialStore(client.client(), cipher);
        assertThatThrownBy(() -> store.current("legacy-1")).isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining("pamctl credential migrate legacy-1").hasMessageNotContaining("sk-legacy");
        System.setProperty(CredentialCipher.SETTING, keyB64);
        try {
            assertThat(pamctl("", "credential", "migrate", "--redis-url", redis.url(), "legacy-1"))
                    .contains("legacy-1: version 2 migrated").doesNotContain("sk-legacy");
            assertThat(store.current("legacy-1").orElseThrow().secret()).isEqualTo("sk-legacy-2");
            assertThat(store.current("legacy-1").orElseThrow().version()).isEqualTo(2);
            // idempotent
            assertThat(pamctl("", "credential", "migrate", "--redis-url", redis.url(), "legacy-1")).contains("legacy-1: already migrated");
            // the next write is schema 2 only: no schema-1 ciphertext is left behind to be copied around
            store.put("legacy-1", "sk-3", CredentialStore.Mode.ROTATE, Duration.ofSeconds(30), 3);
            assertThat(client.client().hgetAll(CredentialStore.key("legacy-1"))).doesNotContainKeys("v:1", "v:2");
            assertThat(store.current("legacy-1").orElseThrow().secret()).isEqualTo("sk-3");
        } finally {
            System.clearProperty(CredentialCipher.SETTING);
        }
    }

    @Test
    void migrateAllFindsEveryCredentialOfTheStore() throws Exception {
        RedisServer own = RedisServer.start();
        PamRedis saved = client;
        try (PamRedis r = new PamRedis(own.url())) {
            client = r; // writeSchema1 writes through `client`
            writeSchema1("all-a", "sk-a1", "sk-a2");
            writeSchema1("all-b", "sk-b1", "sk-b2");
            new CredentialStore(r.client(), cipher).put("all-c", "sk-c", CredentialStore.Mode.SET, Duration.ZERO, 1);
            System.setProperty(CredentialCipher.SETTING, keyB64);
            try {
                assertThat(pamctl("", "credential", "migrate", "--redis-url", own.url(), "--all"))
                        .contains("all-a: version 2 migrated", "all-b: version 2 migrated", "all-c: already migrated");
            } finally {
                System.clearProperty(CredentialCipher.SETTING);
            }
            CredentialStore store = new CredentialStore(r.client(), cipher);
            assertThat(store.current("all-a").orElseThrow().secret()).isEqualTo("sk-a2");
            assertThat(store.current("all-b").orElseThrow().secret()).isEqualTo("sk-b2");
            assertThat(r.client().hgetAll(CredentialStore.key("all-a"))).as("the retained schema-1 previous version is dropped")
                    .doesNotContainKey("v:1").containsKey("v:2");
        } finally {
            client = saved;
            own.stop();
        }
    }

    @Test
    void migrationRefusesWhatItCannotDecryptAndDoesNotTouchIt() throws Exception {
        writeSchema1("legacy-bad", "sk-x", "sk-y");
        client.client().hset(CredentialStore.key("legacy-bad"), "v:2", schema1Ciphertext("someone-else", "sk-z"));
        Map<String, String> before = client.client().hgetAll(CredentialStore.key("legacy-bad"));
        System.setProperty(CredentialCipher.SETTING, keyB64);
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), "credential", "migrate", "--redis-url", redis.url(), "legacy-bad");
            assertThat(code).isNotZero();
            assertThat(err.toString()).contains("legacy-bad").doesNotContain("sk-");
        } finally {
            System.clearProperty(CredentialCipher.SETTING);
        }
        assertThat(client.client().hgetAll(CredentialStore.key("legacy-bad"))).isEqualTo(before);
    }

    /**
     * A Redis that stalls (CLIENT PAUSE on the real server) while many calls need a credential whose
     * refresh is due: every call is answered at once from the cache, and at most one reload is in
     * flight on the blocking pool, however many calls arrive.
     */
    @Test
    void aStalledRedisCostsOneBlockingThreadAndCallsAreServedFromTheCache() throws Exception {
        RedisServer own = RedisServer.start();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger mostRunning = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger submitted = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.Executor counting = task -> {
            submitted.incrementAndGet();
            pool.execute(() -> {
                mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                try {
                    task.run();
                } finally {
                    running.decrementAndGet();
                }
            });
        };
        try (PamRedis r = new PamRedis(own.url());
             Jedis admin = new Jedis(own.url())) {
            new CredentialStore(r.client(), cipher).put("stall-1", "sk-stall", CredentialStore.Mode.SET, Duration.ZERO, 1);
            try (CredentialCache cache = new CredentialCache(r, cipher, counting, Duration.ofMillis(200), Duration.ofMinutes(5))) {
                assertThat(cache.get("stall-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-stall");
                Thread.sleep(300); // the subscription settles (its first onSubscribe drops the cache once)
                assertThat(cache.get("stall-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-stall");
                admin.sendCommand(Protocol.Command.CLIENT, "PAUSE", "4000", "ALL");
                Thread.sleep(300); // the cached value is now due for a refresh
                int before = submitted.get();
                for (int i = 0; i < 200; i++) {
                    var f = cache.get("stall-1").toCompletableFuture();
                    assertThat(f).as("call %d is answered from the cache without waiting for Redis", i).isDone();
                    assertThat(f.get().secret()).isEqualTo("sk-stall");
                    Thread.sleep(5);
                }
                assertThat(mostRunning.get()).as("reloads in flight at once").isLessThanOrEqualTo(1);
                assertThat(submitted.get() - before).as("reloads started for 200 calls over a stalled Redis").isLessThanOrEqualTo(2);
            }
        } finally {
            pool.shutdownNow();
            own.stop();
        }
    }

    @Test
    void aCredentialThatDoesNotExistIsNotConfiguredNotUnreachable() throws Exception {
        try (CredentialCache cache = new CredentialCache(client, cipher, blocking, Duration.ofSeconds(30), Duration.ofMinutes(5))) {
            assertThatThrownBy(() -> cache.get("never-set").toCompletableFuture().get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(CredentialCache.Unavailable.class).hasMessageContaining("does not exist")
                    .extracting(e -> ((CredentialCache.Unavailable) e).code()).isEqualTo("credential_not_configured");
        }
    }

    /**
     * An announcement that never arrives (the write below bypasses the script and its PUBLISH, as a
     * message lost while the subscription was down would): the background refresh still replaces
     * the secret once it is older than the refresh interval, without the call waiting for Redis.
     */
    @Test
    void aMissedAnnouncementCannotPinTheOldSecretLongerThanTheRefreshInterval() throws Exception {
        CredentialStore store = new CredentialStore(client.client(), cipher);
        store.put("missed-1", "sk-before", CredentialStore.Mode.SET, Duration.ZERO, 1);
        try (CredentialCache cache = new CredentialCache(client, cipher, blocking, Duration.ofMillis(300), Duration.ofMinutes(5))) {
            assertThat(cache.get("missed-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-before");
            Thread.sleep(300); // the subscription settles (its first onSubscribe drops the cache once)
            assertThat(cache.get("missed-1").toCompletableFuture().get(5, TimeUnit.SECONDS).secret()).isEqualTo("sk-before");
            client.client().hset(CredentialStore.key("missed-1"), Map.of("current", "2", "enc:2", cipher.encrypt("missed-1", 2, "sk-after")));
            client.client().hdel(CredentialStore.key("missed-1"), "enc:1");
            String seen = "";
            long t0 = System.nanoTime();
            while (!seen.equals("sk-after") && System.nanoTime() - t0 < 10_000_000_000L) {
                var f = cache.get("missed-1").toCompletableFuture();
                seen = f.get(5, TimeUnit.SECONDS).secret();
                Thread.sleep(20);
            }
            assertThat(seen).isEqualTo("sk-after");
        }
    }

    @Test
    void pamctlSetRotateShowVersions() throws Exception {
        System.setProperty(CredentialCipher.SETTING, keyB64);
        InputStream stdin = System.in;
        try {
            assertThat(pamctl("sk-cli-1\n", "credential", "set", "--redis-url", redis.url(), "cli-1")).contains("version 1");
            assertThat(pamctl("sk-cli-2\n", "credential", "rotate", "--redis-url", redis.url(), "--overlap-seconds", "120", "cli-1"))
                    .contains("version 2").contains("120 s");
            String versions = pamctl("", "credential", "show-versions", "--redis-url", redis.url(), "cli-1");
            assertThat(versions).contains("v2\tcurrent").contains("v1\tprevious (overlap)").doesNotContain("sk-cli");
            assertThat(new CredentialStore(client.client(), cipher).current("cli-1").orElseThrow().secret()).isEqualTo("sk-cli-2");
        } finally {
            System.setIn(stdin);
            System.clearProperty(CredentialCipher.SETTING);
        }
    }

    static String pamctl(String stdin, String... args) {
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Pamctl());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertThat(code).as(err.toString()).isZero();
        return out.toString();
    }
}
