package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No reply is ever too large for a frame (issue 10 item 3). A body that grew past what one frame
 * carries (16 MiB − 1 bytes of payload, FlatBuffer overhead included) must not make the runner
 * close the connection: in the response phase APISIX would then send the original, unmasked
 * upstream body (conformance P6, P10). Through the real runner's socket, with the driver as APISIX.
 */
class OversizedReplyTest {
    static final int MAX_PAYLOAD = 0xFFFFFF;
    static final String BODY_MARKER = "PII-alice@example.com-4111111111111111";
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;

    @BeforeAll
    static void start() throws Exception {
        runner = Ready.await(RunnerProcess.start());
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
    }

    @AfterAll
    static void stop() throws Exception {
        driver.close();
        upstream.close();
        runner.close();
    }

    static ClientRequest request() {
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Content-Type", "application/json")
                .body("{\"model\":\"m\"}").build();
    }

    static RouteConf responseRoute(String id, int bytes) {
        return RouteConf.builder(id).postResp(new ConfEntry("test-large-body", "{\"bytes\":" + bytes + "}")).build();
    }

    @Test
    void aResponseBodyTooLargeForOneFrameGetsTheSafe503AndTheConnectionSurvives() throws Exception {
        upstream.respondAlways(EchoUpstream.Response.of(200, List.of(new HttpHeader("Content-Type", "application/json")),
                ("{\"leak\":\"" + BODY_MARKER + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        // the body alone fits the 3-byte length; with the reply's FlatBuffer around it, it does not
        GatewayResult r = driver.call(responseRoute("big-resp", MAX_PAYLOAD), request(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(503);
        assertThat(r.bodyUtf8()).contains("gateway_response_policy_failed").doesNotContain(BODY_MARKER);
        assertThat(r.upstreamRequests()).hasSize(1);
        assertThat(r.errorLog()).as("APISIX saw a valid reply, not a closed connection").isEmpty();

        int opened = driver.connectionsOpened();
        GatewayResult next = driver.call(responseRoute("small-resp", 16), request(), upstream);
        assertThat(next.status()).isEqualTo(200);
        assertThat(next.bodyUtf8()).isEqualTo("x".repeat(16));
        assertThat(driver.connectionsOpened()).as("the connection was kept and reused").isEqualTo(opened);
        assertThat(runner.log()).doesNotContain(BODY_MARKER);
    }

    @Test
    void aResponseBodyThatFitsOneFrameIsDeliveredWhole() throws Exception {
        upstream.respondAlways(EchoUpstream.Response.of(200, List.of(new HttpHeader("Content-Type", "text/plain")),
                "ok".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        int bytes = MAX_PAYLOAD - 4096; // room for the id, status, headers and the FlatBuffer tables
        GatewayResult r = driver.call(responseRoute("fit-resp", bytes), request(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.body()).hasSize(bytes);
    }

    @Test
    void aRequestBodyRewriteTooLargeForOneFrameIsAStop503AndTheUpstreamIsNotCalled() throws Exception {
        upstream.clear();
        RouteConf route = RouteConf.builder("big-req").preReq(new ConfEntry("test-large-body", "{\"bytes\":" + MAX_PAYLOAD + "}")).build();
        GatewayResult r = driver.call(route, request(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(503);
        assertThat(r.bodyUtf8()).contains("gateway_policy_unavailable");
        assertThat(r.upstreamRequests()).isEmpty();
        assertThat(r.errorLog()).as("APISIX saw a valid Stop, not a closed connection").isEmpty();
    }
}
