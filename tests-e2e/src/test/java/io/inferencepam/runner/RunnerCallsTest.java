package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.RpcFrame;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.driver.UpstreamRequest;
import io.inferencepam.e2e.support.RunnerProcess;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every call type and the application of Stop/Rewrite/response changes, through the driver, against the real runner. */
class RunnerCallsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MULTIBYTE = "Jos\u00e9 \u6771\u4eac \ud83d\ude42";
    static final java.time.Duration TIMEOUT = java.time.Duration.ofSeconds(10);
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start();
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
    }

    @AfterAll
    static void stop() throws Exception {
        driver.close();
        upstream.close();
        runner.close();
    }

    static JsonNode json(byte[] body) throws Exception {
        return JSON.readTree(body);
    }

    @Test
    void requestCallAsksTheDeclaredVarsAndBodyInOneBatchAndSeesTheRequestAsApisixSentIt() throws Exception {
        RouteConf route = RouteConf.builder("calls-inspect").preReq(new ConfEntry("test-inspect",
                "{\"vars\":[\"http_authorization\",\"request_id\",\"route_id\",\"no_such_var\",\"upstream_uri\",\"post_arg.model\"],\"request_body\":true}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/v1/chat?a=1&a=2&flag&enc=%2F%20x")
                .header("Host", "gw.test").header("Authorization", "Bearer tok").header("X-Multi", "one").header("x-multi", "two")
                .header("Content-Type", "application/json").body("{\"model\":\"m1\",\"text\":\"" + MULTIBYTE + "\"}")
                .remoteAddr("10.0.0.7").build(), upstream);
        assertThat(r.status()).isEqualTo(200);
        JsonNode seen = json(r.body());
        assertThat(seen.get("method").asText()).isEqualTo("POST");
        assertThat(seen.get("path").asText()).isEqualTo("/v1/chat");
        assertThat(seen.get("source_ip").asText()).isEqualTo("10.0.0.7");
        assertThat(seen.get("args").toString()).isEqualTo("[[\"a\",\"1\"],[\"a\",\"2\"],[\"flag\",null],[\"enc\",\"/ x\"]]");
        assertThat(seen.get("headers").toString()).contains("[\"x-multi\",\"one\"],[\"x-multi\",\"two\"]").contains("[\"x-forwarded-port\",\"9080\"]");
        JsonNode vars = seen.get("vars");
        assertThat(vars.get("http_authorization").asText()).isEqualTo("Bearer tok");
        assertThat(vars.get("route_id").asText()).isEqualTo("calls-inspect");
        assertThat(vars.get("request_id").asText()).isEqualTo(r.requestId());
        assertThat(vars.has("no_such_var")).as("a missing var stays missing").isFalse();
        assertThat(vars.get("upstream_uri").asText()).as("a present empty var stays present").isEmpty();
        assertThat(vars.get("post_arg.model").asText()).isEqualTo("m1");
        assertThat(new String(Base64.getDecoder().decode(seen.get("body_base64").asText()), StandardCharsets.UTF_8)).contains(MULTIBYTE);
    }

    @Test
    void allQuestionsOfACallArriveInOneBatchBeforeAnyAnswer() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-inspect",
                    "{\"vars\":[\"a\",\"b\",\"c\"],\"request_body\":true}")), "route#batch#ext-plugin-pre-req#1"), TIMEOUT);
            long token = A6Client.decodePrepareReply(c.read(TIMEOUT).payload());
            c.send(A6Client.RPC_HTTP_REQ_CALL, A6Client.requestCall(7, token, new byte[] {127, 0, 0, 1}, 0, "/", List.of(), List.of()), TIMEOUT);
            List<String> questions = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) { // nothing answered yet: the runner must not wait for answers between questions
                RunnerConnection.Frame f = c.read(TIMEOUT);
                assertThat(f.type()).isEqualTo(A6Client.RPC_EXTRA_INFO);
                A6Client.Question q = A6Client.decodeQuestion(f.payload());
                questions.add(q.kind() == A6Client.Question.VAR ? q.name() : "body");
            }
            assertThat(questions).containsExactly("a", "b", "c", "body");
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer("1".getBytes(StandardCharsets.UTF_8)), TIMEOUT);
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(null), TIMEOUT);
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(new byte[0]), TIMEOUT);
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer("{}".getBytes(StandardCharsets.UTF_8)), TIMEOUT);
            RunnerConnection.Frame reply = c.read(TIMEOUT);
            assertThat(reply.type()).isEqualTo(A6Client.RPC_HTTP_REQ_CALL);
            A6Client.RequestReply rr = A6Client.decodeRequestReply(reply.payload());
            assertThat(rr.id()).as("reply carries the call's id").isEqualTo(7);
            JsonNode seen = json(rr.stop().body().orElseThrow());
            assertThat(seen.get("vars")).as("b missing, c present and empty").isEqualTo(JSON.readTree("{\"a\":\"1\",\"c\":\"\"}"));
        }
    }

    @Test
    void securityHeadersBeyondTheFirst100AreReadableAsVars() throws Exception {
        ClientRequest.Builder b = ClientRequest.builder("GET", "/many").header("Host", "gw.test");
        for (int i = 1; i <= 120; i++) {
            b.header(String.format("X-H-%03d", i), Integer.toString(i));
        }
        b.header("Authorization", "Bearer late");
        RouteConf route = RouteConf.builder("calls-many").preReq(new ConfEntry("test-inspect", "{\"vars\":[\"http_authorization\"]}")).build();
        JsonNode seen = json(driver.call(route, b.build(), upstream).body());
        assertThat(seen.get("headers")).hasSize(100);
        assertThat(seen.get("headers").toString()).doesNotContain("authorization");
        assertThat(seen.get("vars").get("http_authorization").asText()).isEqualTo("Bearer late");
    }

    @Test
    void stopIsAppliedLikeApisixAndTheUpstreamIsNotCalled() {
        RouteConf route = RouteConf.builder("calls-stop").preReq(new ConfEntry("test-stop",
                "{\"status\":403,\"headers\":{\"X-Reason\":\"policy\",\"Content-Type\":\"application/json\"},\"body\":\"{\\\"error\\\":\\\"" + MULTIBYTE + "\\\"}\"}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/blocked").build(), upstream);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.headers()).contains(new HttpHeader("x-reason", "policy"), new HttpHeader("Content-Type", "application/json"));
        assertThat(r.bodyUtf8()).isEqualTo("{\"error\":\"" + MULTIBYTE + "\"}");
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void aStopFollowedByAPluginThatRewritesHeadersStaysAStop() {
        RouteConf route = RouteConf.builder("calls-stop-then-touch")
                .preReq(new ConfEntry("test-stop", "{\"status\":401,\"body\":\"no\"}"),
                        new ConfEntry("test-rewrite", "{\"headers\":{\"x-touched\":\"yes\",\"authorization\":\"Bearer injected\"},\"args\":{\"a\":[\"1\"]}}"))
                .build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/x").build(), upstream);
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.bodyUtf8()).isEqualTo("no");
        assertThat(r.header("x-touched")).isNull();
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void rewriteOfPathHeadersArgsAndResponseHeadersReachesUpstreamAndClient() {
        RouteConf route = RouteConf.builder("calls-rewrite").preReq(new ConfEntry("test-rewrite",
                "{\"path\":\"/new/a b\",\"headers\":{\"x-added\":\"1\",\"x-remove-me\":null,\"host\":\"model.internal\"},"
                        + "\"args\":{\"drop\":[],\"dup\":[\"c\",\"d\"]},\"resp_headers\":{\"X-Resp\":\"r\"}}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/old?keep=1&drop=2&dup=a")
                .header("Host", "gw.test").header("X-Remove-Me", "bye").build(), upstream);
        assertThat(r.status()).isEqualTo(200);
        UpstreamRequest up = r.upstreamRequests().get(0);
        assertThat(up.target()).startsWith("/new/a%20b?");
        assertThat(up.target().substring(up.target().indexOf('?') + 1).split("&")).containsExactlyInAnyOrder("keep=1", "dup=c", "dup=d");
        assertThat(up.header("Host")).contains("model.internal");
        assertThat(up.header("X-Forwarded-Host")).contains("gw.test");
        assertThat(up.header("x-added")).contains("1");
        assertThat(up.header("x-remove-me")).isEmpty();
        assertThat(r.header("x-resp")).isEqualTo("r");
    }

    @Test
    void bodyRewriteCarriesAMatchingContentLengthAlsoOnPostRespRoutes() {
        String newBody = "{\"rewritten\":true,\"text\":\"" + MULTIBYTE + "\"}";
        String conf = "{\"body\":" + quote(newBody) + "}";
        for (boolean postResp : List.of(false, true)) {
            RouteConf.Builder b = RouteConf.builder("calls-body-" + postResp).preReq(new ConfEntry("test-rewrite", conf));
            if (postResp) {
                b.postResp(new ConfEntry("test-respond", "{}"));
            }
            GatewayResult r = driver.call(b.build(), ClientRequest.builder("POST", "/b").header("Content-Type", "application/json")
                    .header("Content-Length", "2").body("{}").build(), upstream);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            UpstreamRequest up = r.upstreamRequests().get(0);
            int len = newBody.getBytes(StandardCharsets.UTF_8).length;
            assertThat(up.header("content-length")).as("post-resp=" + postResp).contains(Integer.toString(len));
            assertThat(up.bodyUtf8()).as("whole new body, post-resp=" + postResp).isEqualTo(newBody);
        }
    }

    @Test
    void binaryAndMultibyteBodiesRoundTripUnchangedInBothPhases() throws Exception {
        byte[] binary = new byte[4096];
        new Random(7).nextBytes(binary);
        // request body: runner sees the exact bytes
        RouteConf inspect = RouteConf.builder("calls-bin-req").preReq(new ConfEntry("test-inspect", "{\"request_body\":true}")).build();
        JsonNode seen = json(driver.call(inspect, ClientRequest.builder("POST", "/bin").header("Content-Type", "application/octet-stream")
                .body(binary).build(), upstream).body());
        assertThat(Base64.getDecoder().decode(seen.get("body_base64").asText())).isEqualTo(binary);
        // rewritten binary body reaches the upstream unchanged
        RouteConf rewrite = RouteConf.builder("calls-bin-rw").preReq(new ConfEntry("test-rewrite",
                "{\"body_base64\":\"" + Base64.getEncoder().encodeToString(binary) + "\"}")).build();
        GatewayResult r = driver.call(rewrite, ClientRequest.builder("POST", "/bin").body("x").build(), upstream);
        assertThat(r.upstreamRequests().get(0).body()).isEqualTo(binary);
        // response body: the runner sees the upstream's exact bytes and, unchanged, they reach the client
        for (byte[] body : List.of(binary, MULTIBYTE.getBytes(StandardCharsets.UTF_8))) {
            upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/octet-stream")), body);
            RouteConf post = RouteConf.builder("calls-bin-resp").postResp(new ConfEntry("test-respond", "{\"response_body\":true}")).build();
            GatewayResult pr = driver.call(post, ClientRequest.builder("GET", "/bin").build(), upstream);
            assertThat(pr.status()).isEqualTo(200);
            assertThat(pr.body()).isEqualTo(body);
            assertThat(pr.header("Content-Type")).isEqualTo("application/octet-stream");
        }
    }

    @Test
    void responseCallSeesStatusHeadersVarsAndBodyAndItsChangesReachTheClient() throws Exception {
        upstream.respondWith(201, List.of(new HttpHeader("Content-Type", "application/json"), new HttpHeader("X-Up", "1"),
                new HttpHeader("Set-Cookie", "a=1"), new HttpHeader("Set-Cookie", "b=2")), "{\"secret\":\"4111 1111 1111 1111\"}");
        RouteConf route = RouteConf.builder("calls-resp").postResp(new ConfEntry("test-inspect",
                "{\"vars\":[\"request_id\",\"status\",\"upstream_status\",\"http_authorization\"],\"response_body\":true}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/r").header("Authorization", "Bearer p").build(), upstream);
        assertThat(r.status()).isEqualTo(201);
        JsonNode seen = json(r.body());
        assertThat(seen.get("status").asInt()).isEqualTo(201);
        assertThat(seen.get("headers").toString()).contains("[\"X-Up\",\"1\"]").contains("[\"Set-Cookie\",\"a=1\"],[\"Set-Cookie\",\"b=2\"]");
        assertThat(seen.get("vars").get("status").asText()).isEqualTo("0");
        assertThat(seen.get("vars").has("upstream_status")).isFalse();
        assertThat(seen.get("vars").get("http_authorization").asText()).isEqualTo("Bearer p");
        assertThat(new String(Base64.getDecoder().decode(seen.get("body_base64").asText()), StandardCharsets.UTF_8)).contains("4111");
        // complete header set: the upstream's headers survive even though the runner changed content-type
        assertThat(r.header("Content-Type")).isEqualTo("application/json");
        assertThat(r.header("x-up")).isEqualTo("1");
        assertThat(r.headerValues("set-cookie")).containsExactly("a=1", "b=2");
    }

    @Test
    void responsePhaseWithoutChangesKeepsContentTypeThatApisixWouldDrop() {
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"ok\":true}");
        RouteConf route = RouteConf.builder("calls-resp-none").postResp(new ConfEntry("test-respond", "{}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/r").build(), upstream);
        assertThat(r.header("Content-Type")).as("P3: without runner headers APISIX would send text/plain").isEqualTo("application/json");
        assertThat(r.bodyUtf8()).isEqualTo("{\"ok\":true}");
    }

    @Test
    void pluginsRunInConfOrderAndEachSeesTheRewritesOfThoseBefore() throws Exception {
        RouteConf route = RouteConf.builder("calls-order").preReq(
                new ConfEntry("test-rewrite", "{\"path\":\"/second\",\"headers\":{\"x-first\":\"1\"},\"args\":{\"q\":[\"v\"]}}"),
                new ConfEntry("test-inspect", "{}")).build();
        JsonNode seen = json(driver.call(route, ClientRequest.builder("GET", "/first?z=9").build(), upstream).body());
        assertThat(seen.get("path").asText()).isEqualTo("/second");
        assertThat(seen.get("headers").toString()).contains("[\"x-first\",\"1\"]");
        assertThat(seen.get("args").toString()).contains("[\"q\",\"v\"]").contains("[\"z\",\"9\"]");
    }

    @Test
    void requestAndResponsePhaseOfOneCallShareStateThroughTheRequestId() {
        RouteConf route = RouteConf.builder("calls-correlate").preReq(new ConfEntry("test-correlate", "{}"))
                .postResp(new ConfEntry("test-correlate", "{}")).build();
        for (String path : List.of("/one", "/two")) {
            GatewayResult r = driver.call(route, ClientRequest.builder("GET", path).build(), upstream);
            assertThat(r.header("x-correlated")).isEqualTo(path);
        }
    }

    @Test
    void postReqPhaseUsesTheSameProtocol() {
        RouteConf route = RouteConf.builder("calls-post-req").postReq(new ConfEntry("test-rewrite", "{\"headers\":{\"x-post-req\":\"yes\"}}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/p").build(), upstream);
        assertThat(r.upstreamRequests().get(0).header("x-post-req")).contains("yes");
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
