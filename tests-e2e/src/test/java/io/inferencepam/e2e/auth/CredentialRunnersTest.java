package io.inferencepam.e2e.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.KeycloakServer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.auth.CredentialCipher;
import io.inferencepam.pam.cli.Pamctl;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Upstream credentials across runner processes: two real runners on one real Redis, real
 * Keycloak tokens, the APISIX-side driver in front. A rotation made through one runner (control
 * API or pamctl) is injected by the other on its next call, pushed by Redis pub/sub (the cache's
 * TTL is 30 s here, so only the push explains a change within a few seconds), also after a Redis
 * restart. A stalled Redis keeps calls served from the cache until the hard expiry, then 503.
 */
class CredentialRunnersTest {
    static KeycloakServer keycloak;
    static RedisServer redis;
    static String keyB64;
    static RunnerProcess a;
    static RunnerProcess b;
    static ApisixDriver driverA;
    static ApisixDriver driverB;
    static EchoUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Path.of("src/test/resources/keycloak");
        keycloak = KeycloakServer.shared(List.of(dir.resolve("realm-pam.json"), dir.resolve("realm-other.json")));
        redis = RedisServer.start();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        keyB64 = Base64.getEncoder().encodeToString(key);
        a = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url(), "PAM_CREDENTIAL_KEY", keyB64));
        b = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url(), "PAM_CREDENTIAL_KEY", keyB64));
        upstream = EchoUpstream.start();
        driverA = new ApisixDriver(a.socket());
        driverB = new ApisixDriver(b.socket());
        awaitReady(a);
        awaitReady(b);
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {driverA, driverB, upstream, a, b, redis}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static void awaitReady(RunnerProcess r) throws Exception {
        long readyBy = System.nanoTime() + 30_000_000_000L;
        while (control(r, "GET", "/readyz", null).statusCode() != 200 && System.nanoTime() < readyBy) {
            Thread.sleep(50);
        }
    }

    static HttpResponse<String> control(RunnerProcess r, String method, String path, String body) throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.controlPort() + path))
                .header("Authorization", r.controlAuthorization()).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int attempt = 0; ; attempt++) {
            try {
                return HttpClient.newHttpClient().send(req.build(), HttpResponse.BodyHandlers.ofString());
            } catch (java.net.ConnectException e) {
                if (attempt > 50) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Stores a secret through a runner's control API, retrying while its Redis client reconnects. */
    static void putSecret(RunnerProcess r, String name, String op, String secret) throws Exception {
        String path = "/v1/credentials/" + name + ("rotate".equals(op) ? "/rotate" : "");
        HttpResponse<String> resp = null;
        for (int attempt = 0; attempt < 50; attempt++) {
            resp = control(r, "rotate".equals(op) ? "POST" : "PUT", path, "{\"secret\":\"" + secret + "\",\"overlap_seconds\":60}");
            if (resp.statusCode() != 503) {
                break;
            }
            Thread.sleep(100);
        }
        assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
        assertThat(resp.body()).doesNotContain(secret);
    }

    static String secret(String label) {
        byte[] r = new byte[9];
        new SecureRandom().nextBytes(r);
        return "sk-" + label + "-" + Base64.getUrlEncoder().withoutPadding().encodeToString(r);
    }

    static RouteConf route(String id, String credential) {
        String conf = "{\"issuer\":\"" + keycloak.issuer("pam") + "\",\"audiences\":[\"inference\"],"
                + "\"upstream_credential\":\"" + credential + "\","
                + "\"entitlements\":[{\"id\":\"ml-all\",\"groups\":[\"ml-engineers\"],\"allow\":[\"*\"]}]}";
        return RouteConf.builder(id).preReq(new ConfEntry("pam-auth", conf)).build();
    }

    static GatewayResult call(ApisixDriver d, RouteConf route, String token) {
        return d.call(route, ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .body("{\"model\":\"m\"}").build(), upstream);
    }

    /** The credential the upstream received, or the status and error body when the call did not reach it. */
    static String injected(ApisixDriver d, RouteConf route, String token) {
        GatewayResult r = call(d, route, token);
        if (r.upstreamRequests().size() != 1) {
            return r.status() + " " + r.bodyUtf8();
        }
        List<String> auth = r.upstreamRequests().get(0).headerValues("Authorization");
        return auth.size() == 1 ? auth.get(0) : auth.toString();
    }

    /**
     * Calls through {@code d} until the upstream receives {@code Bearer expected}, for at most
     * {@code maxMillis} (a bound for the test only, far below the cache's 30 s TTL); returns the
     * milliseconds from {@code sinceNanos} to the first call that injected it, or -1.
     */
    static long awaitInjected(ApisixDriver d, RouteConf route, String token, String expected, long sinceNanos, long maxMillis)
            throws InterruptedException {
        String seen = "";
        while (System.nanoTime() - sinceNanos < maxMillis * 1_000_000L) {
            seen = injected(d, route, token);
            if (seen.equals("Bearer " + expected)) {
                return (System.nanoTime() - sinceNanos) / 1_000_000L;
            }
            Thread.sleep(2);
        }
        assertThat(seen).as("credential injected within %d ms", maxMillis).isEqualTo("Bearer " + expected);
        return -1;
    }

    @Test
    void aRotationThroughOneRunnerIsPushedToTheOtherAlsoAfterARedisRestart() throws Exception {
        String bob = keycloak.passwordToken("pam", "pam-cli", "bob", "bob-pw");
        RouteConf route = route("two-runners", "shared-1");
        String s1 = secret("one");
        String s2 = secret("two");
        String s3 = secret("three");
        String s4 = secret("four");
        String s5 = secret("five");
        putSecret(a, "shared-1", "set", s1);
        assertThat(injected(driverB, route, bob)).isEqualTo("Bearer " + s1);
        assertThat(injected(driverA, route, bob)).isEqualTo("Bearer " + s1);
        Thread.sleep(500); // both subscriptions are up (each subscribes on its runner's first credential read)
        assertThat(injected(driverB, route, bob)).isEqualTo("Bearer " + s1);
        List<String> measured = new ArrayList<>();
        // same-run baseline: what one gateway call through runner B costs on this host right now
        long[] plain = new long[20];
        for (int i = 0; i < plain.length; i++) {
            long t = System.nanoTime();
            assertThat(injected(driverB, route, bob)).isEqualTo("Bearer " + s1);
            plain[i] = System.nanoTime() - t;
        }
        java.util.Arrays.sort(plain);
        measured.add("baseline, one gateway call through B (median of 20): " + plain[plain.length / 2] / 1_000_000.0 + " ms");

        // control API of runner A → runner B
        putSecret(a, "shared-1", "rotate", s2);
        long t0 = System.nanoTime();
        measured.add("control API of A -> B: " + awaitInjected(driverB, route, bob, s2, t0, 5_000) + " ms");

        // pamctl → both runners
        pamctl(s3 + "\n", "credential", "rotate", "--redis-url", redis.url(), "shared-1");
        long t1 = System.nanoTime();
        measured.add("pamctl -> B: " + awaitInjected(driverB, route, bob, s3, t1, 5_000) + " ms");
        measured.add("pamctl -> A: " + awaitInjected(driverA, route, bob, s3, t1, 5_000) + " ms");

        // Redis restarts empty (no persistence here): the subscriptions reconnect; the credential is stored again
        redis.stop();
        redis.startAgain();
        putSecret(a, "shared-1", "set", s4);
        long t2 = System.nanoTime();
        measured.add("after a Redis restart, set through A -> B: " + awaitInjected(driverB, route, bob, s4, t2, 10_000) + " ms");
        // and pushes arrive on the new subscription
        putSecret(a, "shared-1", "rotate", s5);
        long t3 = System.nanoTime();
        measured.add("after a Redis restart, control API of A -> B: " + awaitInjected(driverB, route, bob, s5, t3, 5_000) + " ms");
        System.out.println("credential propagation (from the writer's 200 to the first call injecting the new secret, "
                + "polling every ~2 ms + one gateway call): " + measured);
        for (String log : List.of(a.log(), b.log())) {
            assertThat(log).doesNotContain(s1, s2, s3, s4, s5, bob);
        }
    }

    @Test
    void aCredentialThatWasNeverStoredAnswersCredentialNotConfigured() throws Exception {
        String bob = keycloak.passwordToken("pam", "pam-cli", "bob", "bob-pw");
        GatewayResult r = call(driverA, route("unset", "never-stored"), bob);
        assertThat(r.status()).as(r.toString()).isEqualTo(503);
        assertThat(r.bodyUtf8()).contains("\"code\":\"credential_not_configured\"").doesNotContain("never-stored");
        assertThat(r.upstreamRequests()).isEmpty();
    }

    /**
     * A Redis that stalls (CLIENT PAUSE) once the cached secret is due for a refresh: concurrent
     * calls are still answered within a 1.8 s call deadline (a reload alone would wait for the
     * 2 s Redis timeout); once the cache's hard expiry passes with Redis down, 503
     * {@code credential_store_unavailable}, never a call without the credential.
     */
    @Test
    void aStalledRedisIsServedFromTheCacheUntilTheHardExpiryThenFailsClosed() throws Exception {
        String bob = keycloak.passwordToken("pam", "pam-cli", "bob", "bob-pw");
        String s = secret("stall");
        RouteConf route = route("stall", "stall-1");
        try (RedisServer own = RedisServer.start();
             RunnerProcess c = RunnerProcess.start(Map.of("PAM_REDIS_URL", own.url(), "PAM_CREDENTIAL_KEY", keyB64,
                     "PAM_CREDENTIAL_REFRESH_SECONDS", "1", "PAM_CREDENTIAL_MAX_STALE_SECONDS", "4",
                     "PAM_CALL_DEADLINE_MS", "1800"));
             ApisixDriver d = new ApisixDriver(c.socket());
             Jedis admin = new Jedis(own.url())) {
            awaitReady(c);
            putSecret(c, "stall-1", "set", s);
            // a fresh JVM on a busy host may miss the short deadline for its first PrepareConf (APISIX then answers 503)
            awaitInjected(d, route, bob, s, System.nanoTime(), 30_000);
            Thread.sleep(300); // the subscription settles (its first onSubscribe drops the cache once)
            assertThat(injected(d, route, bob)).isEqualTo("Bearer " + s);
            admin.sendCommand(Protocol.Command.CLIENT, "PAUSE", "3000", "ALL");
            Thread.sleep(1_200); // past the refresh interval: every call now wants a reload
            ExecutorService callers = Executors.newFixedThreadPool(16);
            try {
                List<CompletableFuture<String>> calls = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    calls.add(CompletableFuture.supplyAsync(() -> injected(d, route, bob), callers));
                }
                for (CompletableFuture<String> f : calls) {
                    assertThat(f.get()).isEqualTo("Bearer " + s);
                }
            } finally {
                callers.shutdownNow();
            }
            own.stop();
            // Redis is down: the cached secret serves until 4 s after the last successful read, then 503
            long deadline = System.nanoTime() + 15_000_000_000L;
            GatewayResult r = call(d, route, bob);
            while (r.status() == 200 && System.nanoTime() < deadline) {
                assertThat(r.upstreamRequests().get(0).headerValues("Authorization")).containsExactly("Bearer " + s);
                Thread.sleep(50);
                r = call(d, route, bob);
            }
            assertThat(r.status()).as(r.toString()).isEqualTo(503);
            assertThat(r.bodyUtf8()).contains("\"code\":\"credential_store_unavailable\"").doesNotContain(s);
            assertThat(r.upstreamRequests()).isEmpty();
            assertThat(c.log()).doesNotContain(s, bob);
        }
    }

    static String pamctl(String stdin, String... args) {
        InputStream saved = System.in;
        System.setProperty(CredentialCipher.SETTING, keyB64);
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
            assertThat(code).as(err.toString()).isZero();
            return out.toString();
        } finally {
            System.setIn(saved);
            System.clearProperty(CredentialCipher.SETTING);
        }
    }
}
