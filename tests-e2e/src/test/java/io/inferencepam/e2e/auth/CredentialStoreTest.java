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
        // a third version drops v1 (only one previous version is kept)
        store.put("enc-1", "sk-3", CredentialStore.Mode.ROTATE, Duration.ofSeconds(60), 4000);
        assertThat(client.client().hgetAll(CredentialStore.key("enc-1"))).doesNotContainKey("v:1").containsKey("v:2").containsKey("v:3");
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
        String ct = client.client().hget(CredentialStore.key("tamper-1"), "v:1");
        byte[] b = Base64.getDecoder().decode(ct);
        b[b.length - 1] ^= 1;
        client.client().hset(CredentialStore.key("tamper-1"), "v:1", Base64.getEncoder().encodeToString(b));
        assertThatThrownBy(() -> store.current("tamper-1")).isInstanceOf(GeneralSecurityException.class);
        // a ciphertext copied to another credential name does not decrypt (name is the AAD)
        store.put("moved-a", "sk-moved", CredentialStore.Mode.SET, Duration.ZERO, 1);
        store.put("moved-b", "sk-b", CredentialStore.Mode.SET, Duration.ZERO, 1);
        client.client().hset(CredentialStore.key("moved-b"), "v:1", client.client().hget(CredentialStore.key("moved-a"), "v:1"));
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
