package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A refused {@code ext-plugin-post-resp} PrepareConf (conformance P11): APISIX has already called
 * the upstream, and any RPC failure makes it send the original body with status 503. The runner
 * therefore answers such a PrepareConf with a token bound to a fail-closed conf, whose calls all
 * get the safe 503 response. The request phase keeps refusing with RPC_ERROR (APISIX answers 503
 * before the upstream is called).
 */
class ResponseConfRefusedTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MARKER = "PII-UPSTREAM-4111-1111-1111-1111";
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

    private static GatewayResult call(RouteConf route) {
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"leak\":\"" + MARKER + "\"}");
        return driver.call(route, ClientRequest.builder("POST", "/v1/chat/completions")
                .header("Content-Type", "application/json").body("{\"model\":\"m\"}").build(), upstream);
    }

    private static void assertSafe503(GatewayResult r) throws Exception {
        assertThat(r.status()).as(r.toString()).isEqualTo(503);
        assertThat(r.bodyUtf8()).doesNotContain(MARKER).doesNotContain("leak");
        assertThat(JSON.readTree(r.body()).path("error").path("code").asText()).isEqualTo("gateway_response_policy_failed");
        assertThat(r.upstreamRequests()).as("the upstream was called; its body was withheld").hasSize(1);
    }

    @Test
    void aRequestOnlyPluginInPostRespAnswersTheSafe503NotTheUpstreamBody() throws Exception {
        RouteConf route = RouteConf.builder("refused-phase").preReq(new ConfEntry("test-noop", "{}"))
                .postResp(new ConfEntry("test-pam-auth", "{}")).build();
        assertSafe503(call(route));
        // the fail-closed token is cached like any other: the next call gets the safe 503 at once
        GatewayResult again = call(route);
        assertSafe503(again);
        assertThat(again.transcript()).noneMatch(f -> f.type() == A6Client.RPC_PREPARE_CONF)
                .noneMatch(f -> f.type() == A6Client.RPC_ERROR);
        assertThat(FailClosedLog.await(runner, "refused-phase", "ext-plugin-post-resp")).doesNotContain(MARKER);
    }

    @Test
    void anInvalidPostRespConfAnswersTheSafe503() throws Exception {
        RouteConf route = RouteConf.builder("refused-schema")
                .postResp(new ConfEntry("test-respond", "{\"status\":\"not-a-number\"}")).build();
        GatewayResult r = call(route);
        assertSafe503(r);
        assertThat(r.transcript()).as("PrepareConf answered with a token, not RPC_ERROR")
                .noneMatch(f -> f.type() == A6Client.RPC_ERROR && f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX);
    }

    @Test
    void fixingTheConfChangesItsVersionAndTheRouteServesAgain() throws Exception {
        RouteConf broken = RouteConf.builder("refused-fixed").postResp(new ConfEntry("test-respond", "{\"status\":\"x\"}")).build();
        assertSafe503(call(broken));
        RouteConf fixed = RouteConf.builder("refused-fixed").version(2)
                .postResp(new ConfEntry("test-respond", "{\"status\":201,\"body\":\"masked\"}")).build();
        GatewayResult r = call(fixed);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        assertThat(r.bodyUtf8()).isEqualTo("masked");
    }

    @Test
    void requestPhaseRefusalsStillFailThePrepareConfAndBothPhasesAreCounted() throws Exception {
        RouteConf route = RouteConf.builder("refused-req").preReq(new ConfEntry("test-respond", "{}")).build();
        GatewayResult r = call(route);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.upstreamRequests()).isEmpty();
        assertThat(r.errorLog()).anyMatch(l -> l.contains("failed to receive RPC_PREPARE_CONF"));
        call(RouteConf.builder("refused-count").postResp(new ConfEntry("test-pam-auth", "{}")).build());
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + runner.controlPort() + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics.lines().filter(l -> l.startsWith("pam_runner_conf_refused_total{")))
                .anyMatch(l -> l.contains("phase=\"request\"") && l.contains("reason=\"invalid\""))
                .anyMatch(l -> l.contains("phase=\"response\"") && l.contains("reason=\"invalid\""));
    }

    /**
     * A post-resp PrepareConf that misses its deadline (here a plugin slow to build; after a start,
     * plugins still loading) fails closed too, but only briefly: once the fail-closed token has
     * expired, the next call is told CONF_TOKEN_NOT_FOUND and APISIX prepares again.
     */
    @Test
    void aPostRespPrepareConfPastItsDeadlineFailsClosedThenIsPreparedAgain() throws Exception {
        try (RunnerProcess slow = Ready.await(RunnerProcess.start(java.util.Map.of("PAM_PREPARE_DEADLINE_MS", "1000")));
             ApisixDriver apisix = new ApisixDriver(slow.socket())) {
            RouteConf route = RouteConf.builder("refused-deadline").preReq(new ConfEntry("test-noop", "{}"))
                    .postResp(new ConfEntry("test-slow-create", "{\"millis\":3000}")).build();
            upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"leak\":\"" + MARKER + "\"}");
            GatewayResult first = apisix.call(route, ClientRequest.builder("GET", "/v1/models").build(), upstream);
            assertSafe503(first);
            // the token lives ConfStore.PASSING_REFUSAL_LIFETIME (5 s); after it, APISIX is sent to prepare again
            Thread.sleep(5_500);
            upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"leak\":\"" + MARKER + "\"}");
            GatewayResult later = apisix.call(route, ClientRequest.builder("GET", "/v1/models").build(), upstream);
            assertSafe503(later); // prepared again, missed the deadline again: still never the upstream body
            assertThat(later.transcript().stream().filter(f -> f.type() == A6Client.RPC_PREPARE_CONF
                    && f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER)).as(later.transcript().toString()).isNotEmpty();
            assertThat(later.errorLog()).anyMatch(l -> l.contains("refresh cache and try again"));
        }
    }

    /** The runner's log once a line mentions every fragment (lines reach the file asynchronously). */
    static final class FailClosedLog {
        static String await(RunnerProcess runner, String... fragments) throws Exception {
            long deadline = System.nanoTime() + 10_000_000_000L;
            String log = runner.log();
            while (log.lines().noneMatch(l -> java.util.Arrays.stream(fragments).allMatch(l::contains)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
                log = runner.log();
            }
            assertThat(log.lines().anyMatch(l -> java.util.Arrays.stream(fragments).allMatch(l::contains)))
                    .as("runner log has a line with %s", java.util.Arrays.toString(fragments)).isTrue();
            return log;
        }
    }
}
