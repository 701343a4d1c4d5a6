package io.inferencepam.e2e.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.UpstreamRequest;
import io.inferencepam.e2e.support.KeycloakServer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * pam-auth end to end: real Keycloak (realm imported from src/test/resources/keycloak), real Redis,
 * the real runner process, driven through the APISIX-side protocol driver, with a real upstream
 * that echoes what it received.
 */
class PamAuthKeycloakTest {
    static KeycloakServer keycloak;
    static RedisServer redis;
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static final String SECRET_V1 = "sk-upstream-v1-" + random();
    static final String SECRET_V2 = "sk-upstream-v2-" + random();
    static final List<String> tokensSeen = new ArrayList<>();

    static String random() {
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    @BeforeAll
    static void start() throws Exception {
        Path dir = Path.of("src/test/resources/keycloak");
        keycloak = KeycloakServer.shared(List.of(dir.resolve("realm-pam.json"), dir.resolve("realm-other.json")));
        redis = RedisServer.start();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        runner = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url(),
                "PAM_CREDENTIAL_KEY", Base64.getEncoder().encodeToString(key)));
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        // plugins (and their control-API endpoints) load just after the socket appears: wait for /readyz
        long readyBy = System.nanoTime() + 30_000_000_000L;
        while (control("GET", "/readyz", null).statusCode() != 200 && System.nanoTime() < readyBy) {
            Thread.sleep(50);
        }
        HttpResponse<String> put = control("PUT", "/v1/credentials/vllm-prod", "{\"secret\":\"" + SECRET_V1 + "\"}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        assertThat(put.body()).contains("\"version\":1").doesNotContain(SECRET_V1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) {
            driver.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (runner != null) {
            runner.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    static HttpResponse<String> control(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort() + path))
                .header("Authorization", runner.controlAuthorization()).header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        // the control API starts listening just after the runner's socket appears
        for (int attempt = 0; ; attempt++) {
            try {
                return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
            } catch (java.net.ConnectException e) {
                if (attempt > 50) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    static RouteConf route(String id) {
        return route(id, "vllm-prod");
    }

    static RouteConf route(String id, String credential) {
        String conf = "{\"issuer\":\"" + keycloak.issuer("pam") + "\",\"audiences\":[\"inference\"],"
                + "\"upstream_credential\":\"" + credential + "\",\"model_free_paths\":[\"GET /v1/models\"],"
                + "\"entitlements\":["
                + "{\"id\":\"analysts-llama\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"],\"deny\":[\"llama-3-405b*\"]},"
                + "{\"id\":\"ml-all\",\"groups\":[\"ml-engineers\"],\"allow\":[\"*\"]},"
                + "{\"id\":\"agent-embed\",\"clients\":[\"agent-7\"],\"allow\":[\"embed-*\"]}]}";
        return RouteConf.builder(id).preReq(new ConfEntry("pam-auth", conf)).build();
    }

    static String user(String name) throws Exception {
        String t = keycloak.passwordToken("pam", "pam-cli", name, name + "-pw");
        tokensSeen.add(t);
        return t;
    }

    static GatewayResult chat(String token, String model) {
        return chat(token, "/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    }

    static GatewayResult chat(String token, String target, String body) {
        return chat(route("kc-chat"), token, target, body);
    }

    static GatewayResult chat(RouteConf route, String token, String target, String body) {
        ClientRequest.Builder b = ClientRequest.builder("POST", target).header("Host", "gw.test")
                .header("Content-Type", "application/json").body(body);
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return driver.call(route, b.build(), upstream);
    }

    static UpstreamRequest only(GatewayResult r) {
        assertThat(r.upstreamRequests()).as(r.toString()).hasSize(1);
        return r.upstreamRequests().get(0);
    }

    @Test
    void entitledUserReachesUpstreamWithTheGatewayCredentialOnly() throws Exception {
        String alice = user("alice");
        GatewayResult r = chat(alice, "llama-3-8b");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        UpstreamRequest up = only(r);
        assertThat(up.headerValues("Authorization")).containsExactly("Bearer " + SECRET_V1);
        assertThat(up.headers().toString()).doesNotContain(alice);
        // (the echo upstream reflects what it received, so the 200 body shows the injected header by design)
    }

    @Test
    void aSameOriginAppsJwtCookieIsNotRefusedButNoCookieReachesTheUpstream() throws Exception {
        // a browser client of a web app on the gateway's origin sends that app's cookies, a JWT session among them
        String alice = user("alice");
        GatewayResult r = driver.call(route("kc-chat"), ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + alice)
                .header("Cookie", "theme=dark; KEYCLOAK_IDENTITY=" + alice)
                .body("{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").build(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        UpstreamRequest up = only(r);
        assertThat(up.headerValues("Cookie")).isEmpty();
        assertThat(up.headers().toString()).doesNotContain(alice).doesNotContain("theme=dark");
    }

    @Test
    void notEntitledModelIs404ModelNotFoundAndNeverReachesUpstream() throws Exception {
        String alice = user("alice");
        for (String model : List.of("gpt-4", "llama-3-405b-instruct")) {
            GatewayResult r = chat(alice, model);
            assertThat(r.status()).as(r.toString()).isEqualTo(404);
            assertThat(r.bodyUtf8()).contains("\"code\":\"model_not_found\"").contains("\"error\"").doesNotContain(SECRET_V1);
            assertThat(r.upstreamRequests()).isEmpty();
        }
        // carol is in no group: deny by default
        assertThat(chat(user("carol"), "llama-3-8b").status()).isEqualTo(404);
        // bob (ml-engineers) may use anything
        assertThat(chat(user("bob"), "gpt-4").status()).isEqualTo(200);
    }

    @Test
    void serviceAccountIsIdentifiedByItsClient() throws Exception {
        String agent = keycloak.clientToken("pam", "agent-7", "agent-7-secret");
        tokensSeen.add(agent);
        GatewayResult ok = chat(agent, "/v1/embeddings", "{\"model\":\"embed-small\",\"input\":\"x\"}");
        assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
        assertThat(only(ok).headerValues("Authorization")).containsExactly("Bearer " + SECRET_V1);
        assertThat(chat(agent, "llama-3-8b").status()).isEqualTo(404);
    }

    @Test
    void missingForeignAndTamperedTokensAre401() throws Exception {
        GatewayResult none = chat(null, "llama-3-8b");
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.header("www-authenticate")).contains("error=\"invalid_token\"");
        assertThat(none.bodyUtf8()).contains("invalid_token");

        String foreign = keycloak.passwordToken("other", "pam-cli", "alice", "alice-pw");
        tokensSeen.add(foreign);
        GatewayResult other = chat(foreign, "llama-3-8b");
        assertThat(other.status()).isEqualTo(401);
        assertThat(other.upstreamRequests()).isEmpty();

        String alice = user("alice");
        String[] p = alice.split("\\.");
        String tampered = p[0] + "." + p[1] + "." + (p[2].charAt(0) == 'A' ? "B" : "A") + p[2].substring(1);
        assertThat(chat(tampered, "llama-3-8b").status()).isEqualTo(401);
    }

    @Test
    void modelBypassAttemptsAreRefused() throws Exception {
        String alice = user("alice");
        GatewayResult query = chat(alice, "/v1/chat/completions?model=gpt-4", "{\"model\":\"llama-3-8b\"}");
        assertThat(query.status()).as(query.toString()).isEqualTo(400);
        assertThat(query.bodyUtf8()).contains("ambiguous_model");
        GatewayResult dup = chat(alice, "/v1/chat/completions", "{\"model\":\"llama-3-8b\",\"model\":\"gpt-4\"}");
        assertThat(dup.status()).isEqualTo(400);
        assertThat(dup.bodyUtf8()).contains("duplicate_json_key");
        GatewayResult noCt = driver.call(route("kc-chat"), ClientRequest.builder("POST", "/v1/chat/completions")
                .header("Authorization", "Bearer " + alice).body("{\"model\":\"gpt-4\"}").build(), upstream);
        assertThat(noCt.status()).isEqualTo(415);
        // an encoded spelling of a model-free path (nginx decodes it to GET /v1/models): the raw URI is asked
        // where the path decides, and refused (on a body-model path the body's model is what is entitled)
        GatewayResult encoded = driver.call(route("kc-chat"), ClientRequest.builder("GET", "/v1/mod%65ls")
                .header("Host", "gw.test").header("Authorization", "Bearer " + alice).build(), upstream);
        assertThat(encoded.status()).as(encoded.toString()).isEqualTo(400);
        assertThat(encoded.bodyUtf8()).contains("non_canonical_path");
        GatewayResult header = driver.call(route("kc-chat"), ClientRequest.builder("POST", "/v1/chat/completions")
                .header("Authorization", "Bearer " + alice).header("Content-Type", "application/json")
                .header("X-Model", "gpt-4").body("{\"model\":\"llama-3-8b\"}").build(), upstream);
        assertThat(header.status()).isEqualTo(400);
        for (GatewayResult r : List.of(query, dup, noCt, encoded, header)) {
            assertThat(r.upstreamRequests()).isEmpty();
        }
    }

    @Test
    void rotationReachesTheRunnerWithinOneSecondAndNoSecretOrTokenIsLogged() throws Exception {
        String bob = user("bob");
        RouteConf rotating = route("kc-rotate", "vllm-rotate");
        String body = "{\"model\":\"m\"}";
        assertThat(control("PUT", "/v1/credentials/vllm-rotate", "{\"secret\":\"" + SECRET_V1 + "\"}").statusCode()).isEqualTo(200);
        assertThat(only(chat(rotating, bob, "/v1/chat/completions", body)).headerValues("Authorization")).containsExactly("Bearer " + SECRET_V1);
        HttpResponse<String> rot = control("POST", "/v1/credentials/vllm-rotate/rotate", "{\"secret\":\"" + SECRET_V2 + "\",\"overlap_seconds\":60}");
        assertThat(rot.statusCode()).as(rot.body()).isEqualTo(200);
        assertThat(rot.body()).contains("\"version\":2").doesNotContain(SECRET_V2);
        long t0 = System.nanoTime();
        String seen = null;
        while (System.nanoTime() - t0 < 1_000_000_000L) {
            seen = only(chat(rotating, bob, "/v1/chat/completions", body)).headerValues("Authorization").get(0);
            if (seen.equals("Bearer " + SECRET_V2)) {
                break;
            }
            Thread.sleep(20);
        }
        assertThat(seen).isEqualTo("Bearer " + SECRET_V2);
        HttpResponse<String> versions = control("GET", "/v1/credentials/vllm-rotate/versions", null);
        assertThat(versions.body()).contains("\"version\":2", "\"version\":1", "previous (overlap)")
                .doesNotContain(SECRET_V1, SECRET_V2);

        // Log lines reach the file asynchronously: wait for the rotation's own line before looking for leaks.
        String log = runner.log();
        long logDeadline = System.nanoTime() + 10_000_000_000L;
        while (!log.contains("credential vllm-rotate rotate") && System.nanoTime() < logDeadline) {
            Thread.sleep(20);
            log = runner.log();
        }
        assertThat(log).contains("credential vllm-rotate rotate");
        assertThat(log).doesNotContain(SECRET_V1, SECRET_V2);
        assertThat(tokensSeen).as("tokens used by the earlier tests of this class").isNotEmpty();
        for (String t : tokensSeen) {
            assertThat(log).doesNotContain(t).doesNotContain(t.split("\\.")[2]);
        }
        HttpResponse<String> metrics = control("GET", "/metrics", null);
        assertThat(metrics.body()).contains("pam_auth_requests_total").doesNotContain(SECRET_V1, SECRET_V2);
    }

    @Test
    void credentialRoutesFailClosedWithoutAKeyOrAStore() throws Exception {
        String bob = user("bob");
        try (RunnerProcess keyless = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url()));
             ApisixDriver d = new ApisixDriver(keyless.socket())) {
            GatewayResult r = d.call(route("kc-keyless"), ClientRequest.builder("POST", "/v1/chat/completions")
                    .header("Authorization", "Bearer " + bob).header("Content-Type", "application/json")
                    .body("{\"model\":\"m\"}").build(), upstream);
            assertThat(r.status()).as(r.toString()).isEqualTo(503);
            assertThat(r.bodyUtf8()).contains("\"code\":\"credential_not_configured\"");
            assertThat(r.upstreamRequests()).isEmpty();
            assertThat(keyless.log()).contains("PAM_CREDENTIAL_KEY is not set").doesNotContain(bob);
        }
        // a credential that was never read, with Redis unreachable: 503, not a call without a credential
        byte[] key = new byte[32];
        try (RunnerProcess noRedis = RunnerProcess.start(Map.of("PAM_REDIS_URL", "redis://127.0.0.1:1",
                "PAM_CREDENTIAL_KEY", Base64.getEncoder().encodeToString(key)));
             ApisixDriver d = new ApisixDriver(noRedis.socket())) {
            GatewayResult r = d.call(route("kc-noredis"), ClientRequest.builder("POST", "/v1/chat/completions")
                    .header("Authorization", "Bearer " + bob).header("Content-Type", "application/json")
                    .body("{\"model\":\"m\"}").build(), upstream);
            assertThat(r.status()).as(r.toString()).isEqualTo(503);
            assertThat(r.bodyUtf8()).contains("\"code\":\"credential_store_unavailable\"");
            assertThat(r.upstreamRequests()).isEmpty();
        }
    }
}
