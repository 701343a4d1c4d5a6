package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.KeycloakServer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import redis.clients.jedis.JedisPooled;

/**
 * One runner (real process) on one real Redis, with real Keycloak users: bob (ml-engineers) and
 * alice (analysts) call models; rita and ravi (reviewers) and dana (ml-engineers and reviewers)
 * decide. Reviewers go through the approvals route exactly as people would: pam-auth verifies
 * their token and injects the control token (stored as the credential {@code pam-control}),
 * pam-approval-review hands their identity to the control API.
 */
final class ApprovalFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    final KeycloakServer keycloak;
    final RedisServer redis;
    final RunnerProcess runner;
    final ApisixDriver driver;
    final EchoUpstream upstream;
    final ApprovalsGateway gateway;
    final HttpClient http = HttpClient.newHttpClient();
    redis.clients.jedis.UnifiedJedis jedis;
    /** Set instead of {@link #redis} when the fixture runs on a Redis Cluster. */
    final io.inferencepam.e2e.support.RedisCluster cluster;
    final Map<String, String> tokens = new LinkedHashMap<>();
    /** Every runner of the fixture (the first is {@link #runner}); they share Redis, the credential key and the control token. */
    final List<Node> nodes = new java.util.ArrayList<>();

    /** One runner with its APISIX-side driver and its gateway front. */
    record Node(RunnerProcess runner, ApisixDriver driver, ApprovalsGateway gateway) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            gateway.close();
            driver.close();
            runner.close();
        }
    }

    ApprovalFixture(Map<String, String> extraEnv) throws Exception {
        this(extraEnv, 1);
    }

    ApprovalFixture(Map<String, String> extraEnv, int runners) throws Exception {
        this(extraEnv, runners, null, n -> Map.of());
    }

    /** Runners that also differ in their own settings ({@code perRunner.apply(n)}, n from 0), e.g. audit spool directories. */
    ApprovalFixture(Map<String, String> extraEnv, int runners, java.util.function.IntFunction<Map<String, String>> perRunner)
            throws Exception {
        this(extraEnv, runners, null, perRunner);
    }

    /** Runners sharing a real three-master Redis Cluster (PAM_REDIS_CLUSTER) instead of one server. */
    static ApprovalFixture onCluster(Map<String, String> extraEnv, int runners) throws Exception {
        return new ApprovalFixture(extraEnv, runners, io.inferencepam.e2e.support.RedisCluster.start(3), n -> Map.of());
    }

    private ApprovalFixture(Map<String, String> extraEnv, int runners, io.inferencepam.e2e.support.RedisCluster cluster,
                            java.util.function.IntFunction<Map<String, String>> perRunner) throws Exception {
        Path dir = Path.of("src/test/resources/keycloak");
        keycloak = KeycloakServer.shared(List.of(dir.resolve("realm-pam.json"), dir.resolve("realm-other.json")));
        this.cluster = cluster;
        redis = cluster == null ? RedisServer.start() : null;
        String redisUrl = cluster == null ? redis.url() : "redis://127.0.0.1:" + cluster.ports().get(0);
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Map<String, String> env = new LinkedHashMap<>(Map.of("PAM_REDIS_URL", redisUrl,
                "PAM_CREDENTIAL_KEY", Base64.getEncoder().encodeToString(key),
                "PAM_CONTROL_TOKEN", "ctl-" + UUID.randomUUID()));
        if (cluster != null) {
            env.put("PAM_REDIS_CLUSTER", "true");
        }
        env.putAll(extraEnv);
        List<RunnerProcess> started = new java.util.ArrayList<>();
        for (int i = 0; i < runners; i++) {
            Map<String, String> own = new LinkedHashMap<>(env);
            own.putAll(perRunner.apply(i));
            started.add(RunnerProcess.start(own));
        }
        runner = started.get(0);
        driver = new ApisixDriver(runner.socket());
        upstream = EchoUpstream.start();
        jedis = cluster == null ? new JedisPooled(URI.create(redis.url()), 2000)
                : new redis.clients.jedis.JedisCluster(java.util.Set.of(new redis.clients.jedis.HostAndPort("127.0.0.1", cluster.ports().get(0))));
        for (String u : List.of("bob", "alice", "rita", "ravi", "dana")) {
            tokens.put(u, keycloak.passwordToken("pam", "pam-cli", u, u + "-pw"));
        }
        storeControlCredential();
        gateway = new ApprovalsGateway(driver, approvalsRoute(), runner.controlPort(), null, upstream);
        nodes.add(new Node(runner, driver, gateway));
        for (RunnerProcess r : started.subList(1, started.size())) {
            ApisixDriver d = new ApisixDriver(r.socket());
            nodes.add(new Node(r, d, new ApprovalsGateway(d, approvalsRoute(), r.controlPort(), null, upstream)));
        }
    }

    String token(String user) {
        return tokens.get(user);
    }

    /** The control token as the credential pam-auth injects on the approvals route. */
    void storeControlCredential() throws Exception {
        String secret = runner.controlAuthorization().substring("Bearer ".length());
        HttpResponse<String> r = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            try {
                r = control("PUT", "/v1/credentials/pam-control", "{\"secret\":\"" + secret + "\"}", runner.controlAuthorization());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (java.net.ConnectException notYet) {
                // control API not bound yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("could not store the control credential: " + (r == null ? "" : r.body()));
    }

    HttpResponse<String> control(String method, String path, String body, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort() + path))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    String authConf() {
        return "{\"issuer\":\"" + keycloak.issuer("pam") + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"all\",\"groups\":[\"ml-engineers\",\"analysts\"],\"allow\":[\"*\"]}]}";
    }

    /** The APISIX route that exposes the approvals API to people (see docs/plugins/pam-approval.md). */
    RouteConf approvalsRoute() {
        String auth = "{\"issuer\":\"" + keycloak.issuer("pam") + "\",\"audiences\":[\"inference\"],\"api\":\"fixed\","
                + "\"fixed_model\":\"pam-approvals\",\"upstream_credential\":\"pam-control\","
                + "\"entitlements\":[{\"id\":\"approvals\",\"groups\":[\"reviewers\",\"ml-engineers\",\"analysts\"],\"allow\":[\"pam-approvals\"]}]}";
        return RouteConf.builder("pam-approvals").preReq(new ConfEntry("pam-auth", auth), new ConfEntry("pam-approval-review", "{}"))
                .build();
    }

    RouteConf route(String id, String approvalConf) {
        return RouteConf.builder(id).preReq(new ConfEntry("pam-auth", authConf()), new ConfEntry("pam-approval", approvalConf))
                .build();
    }

    GatewayResult call(RouteConf route, String user, String body, String... headers) {
        return call(nodes.get(0), route, user, body, headers);
    }

    /** A data-plane call through {@code node}'s runner. */
    GatewayResult call(Node node, RouteConf route, String user, String body, String... headers) {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token(user)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return node.driver().call(route, b.body(body).build(), upstream);
    }

    static String chat(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + UUID.randomUUID() + "\"}]}";
    }

    static JsonNode error(GatewayResult r) throws Exception {
        return JSON.readTree(r.body()).path("error");
    }

    static String heldId(GatewayResult r) throws Exception {
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(403);
        JsonNode e = error(r);
        assertThat(e.path("code").asText()).as(r.bodyUtf8()).isEqualTo("approval_pending");
        String id = e.path("approval").path("id").asText();
        assertThat(r.header("x-pam-approval-id")).isEqualTo(id);
        assertThat(r.header("x-should-retry")).isEqualTo("false");
        assertThat(r.upstreamRequests()).isEmpty();
        return id;
    }

    /** A person's request to the approvals API, through the gateway's approvals route. */
    record Answer(int status, JsonNode json) {
        String code() {
            return json.path("error").path("code").asText();
        }
    }

    Answer approvals(String user, String method, String pathAndQuery, String body) throws Exception {
        return approvals(nodes.get(0), user, method, pathAndQuery, body);
    }

    /** Through {@code node}'s approvals route (its runner's control API). */
    /** The id of the pending approval for {@code model}, as reviewer rita sees it through {@code node}. */
    String awaitPending(Node node, String model) throws Exception {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < end) {
            for (com.fasterxml.jackson.databind.JsonNode x : approvals(node, "rita", "GET", "", null).json().path("approvals")) {
                if (model.equals(x.path("model").asText())) {
                    return x.path("id").asText();
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending approval for " + model);
    }

    /**
     * {@code route} after one call on every runner that no hold rule matches (a model outside the
     * rules), repeated while the runner answers 503. The conf's build and the issuer's keys no
     * longer count against the call's deadline (they run under PrepareConf's own,
     * {@code ColdFirstCallE2ETest}); what is left of a cold first call (a fresh JVM's first token
     * check, Redis scripts loaded) can still pass a short {@code PAM_CALL_DEADLINE_MS} on a loaded
     * host. Tests that use a short deadline to show a held call outliving it warm their routes
     * first, as a readiness probe would; the cold first call is not what they test.
     */
    RouteConf primed(RouteConf route) throws Exception {
        for (Node node : nodes) {
            for (int i = 0; i < 20 && call(node, route, "bob", chat("warm-" + UUID.randomUUID())).status() == 503; i++) {
                Thread.sleep(200);
            }
        }
        return route;
    }

    /** The approvals route of every runner, warmed the same way (a reviewer's list). */
    void primeApprovals() throws Exception {
        for (Node node : nodes) {
            for (int i = 0; i < 20; i++) {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(node.gateway().url() + ApprovalsGateway.PREFIX))
                        .header("Authorization", "Bearer " + token("rita")).GET().build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() != 503) {
                    break;
                }
                Thread.sleep(200);
            }
        }
    }

    Answer approvals(Node node, String user, String method, String pathAndQuery, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.gateway().url() + ApprovalsGateway.PREFIX + pathAndQuery))
                .header("Authorization", "Bearer " + token(user))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body()));
    }

    Answer decide(String user, String id, String verb, String reason) throws Exception {
        return decide(nodes.get(0), user, id, verb, reason);
    }

    Answer decide(Node node, String user, String id, String verb, String reason) throws Exception {
        return approvals(node, user, "POST", "/" + id + "/" + verb, JSON.createObjectNode().put("reason", reason).toString());
    }

    void approve(String user, String id) throws Exception {
        Answer a = decide(user, id, "approve", "approved in test by " + user);
        assertThat(a.status()).as(a.json().toString()).isEqualTo(200);
    }

    /** After a Redis restart, the test's own pooled connections are dead. */
    void reconnect() {
        jedis.close();
        jedis = new JedisPooled(URI.create(redis.url()), 2000);
    }

    @Override
    public void close() throws Exception {
        for (Node n : nodes) {
            n.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {upstream, jedis, redis, cluster}) {
            if (c != null) {
                c.close();
            }
        }
    }
}
