package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Fail closed (DESIGN §3 invariant 1), through the driver against the real runner: bad conf →
 * PrepareConf error → APISIX 503; plugin exception, failed stage or missed deadline → Stop 503
 * with a generic OpenAI-style body; response-phase failure → a safe 503, never the upstream body.
 * And the runner's log names plugin and JSON path, never conf values, bodies or Authorization.
 */
class FailClosedTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SECRET_CONF_VALUE = "s3cr3t-conf-VALUE-9f8e7d";
    static final String AUTHORIZATION = "Bearer eyJhbGciOi.SECRET-TOKEN-abc123";
    static final String BODY_MARKER = "PII-BODY-MARKER-4111-1111-1111-1111";
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;

    @BeforeAll
    static void start() throws Exception {
        runner = Ready.await(RunnerProcess.start(Map.of("PAM_CALL_DEADLINE_MS", "700")));
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
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Authorization", AUTHORIZATION)
                .header("Content-Type", "application/json").body("{\"text\":\"" + BODY_MARKER + "\"}").build();
    }

    static void assertGeneric503(GatewayResult r) throws Exception {
        assertThat(r.status()).as(r.toString()).isEqualTo(503);
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertThat(err.get("message").asText()).isNotBlank();
        assertThat(err.get("type").asText()).isNotBlank();
        assertThat(err.has("code")).isTrue();
        assertThat(r.bodyUtf8()).doesNotContain("Exception").doesNotContain("at io.").doesNotContain("secret")
                .doesNotContain(BODY_MARKER);
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void unknownPluginNameFailsPrepareConfAndTheRouteAnswers503() throws Exception {
        RouteConf route = RouteConf.builder("fc-unknown").preReq(new ConfEntry("pam-authh", "{}")).build();
        GatewayResult r = driver.call(route, request(), upstream);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.upstreamRequests()).isEmpty();
        assertThat(r.errorLog()).anyMatch(l -> l.contains("failed to receive RPC_PREPARE_CONF"));
        assertThat(awaitLog("pam-authh", "unknown plugin")).contains("unknown plugin");
    }

    @Test
    void aRefusedPrepareConfDoesNotLeakTheCallConnection() throws Exception {
        try (ApisixDriver fresh = new ApisixDriver(runner.socket())) {
            RouteConf route = RouteConf.builder("fc-leak").preReq(new ConfEntry("no-such-plugin", "{}")).build();
            for (int i = 0; i < 5; i++) {
                assertThat(fresh.call(route, request(), upstream).status()).isEqualTo(503);
            }
            // per call: the PrepareConf connection is closed after the error (APISIX does), the call's
            // connection goes back to the pool and is reused
            assertThat(fresh.connectionsOpened()).isLessThanOrEqualTo(6);
        }
    }

    @Test
    void schemaViolationFailsClosedAndTheLogNamesPluginAndPathButNotTheValue() throws Exception {
        RouteConf route = RouteConf.builder("fc-schema").preReq(new ConfEntry("test-stop",
                "{\"status\":\"" + SECRET_CONF_VALUE + "\",\"secret\":\"" + SECRET_CONF_VALUE + "\"}")).build();
        GatewayResult r = driver.call(route, request(), upstream);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.upstreamRequests()).isEmpty();
        String log = awaitLog("fc-schema", "refused");
        assertThat(log).contains("test-stop").contains("status");
        assertThat(log).doesNotContain(SECRET_CONF_VALUE);
    }

    @Test
    void duplicateJsonKeysFailClosedWithoutLoggingTheValue() throws Exception {
        RouteConf route = RouteConf.builder("fc-dup").preReq(new ConfEntry("test-stop",
                "{\"status\":403,\"secret\":\"" + SECRET_CONF_VALUE + "\",\"status\":200}")).build();
        GatewayResult r = driver.call(route, request(), upstream);
        assertThat(r.status()).isEqualTo(503);
        String log = awaitLog("fc-dup", "refused");
        assertThat(log).contains("test-stop").contains("duplicate");
        assertThat(log).doesNotContain(SECRET_CONF_VALUE);
    }

    @Test
    void pluginExceptionAndFailedStageAnswer503WithAGenericBody() throws Exception {
        for (String conf : List.of("{\"phase\":\"request\"}", "{\"phase\":\"request\",\"stage\":true}")) {
            RouteConf route = RouteConf.builder("fc-throw-" + conf.length()).preReq(new ConfEntry("test-throw", conf)).build();
            assertGeneric503(driver.call(route, request(), upstream));
        }
        String log = awaitLog("test-throw", "failed closed");
        assertThat(log).doesNotContain("secret-in-exception-message");
    }

    @Test
    void aPluginThatNeverCompletesIsAnsweredAtTheDeadline() throws Exception {
        RouteConf route = RouteConf.builder("fc-never").preReq(new ConfEntry("test-never", "{}")).build();
        long start = System.nanoTime();
        GatewayResult r = driver.call(route, request(), upstream);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("deadline answer after " + millis + " ms (PAM_CALL_DEADLINE_MS=700)");
        assertGeneric503(r);
        // the configured deadline, not the 10 s default nor APISIX's 60 s (generous: the box is shared)
        assertThat(millis).isBetween(600L, 5_000L);
    }

    @Test
    void responsePhaseFailuresAnswerASafe503AndNeverTheUpstreamBody() throws Exception {
        for (String plugin : List.of("test-throw", "test-never")) {
            upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"leak\":\"" + BODY_MARKER + "\"}");
            RouteConf route = RouteConf.builder("fc-resp-" + plugin).postResp(new ConfEntry(plugin,
                    plugin.equals("test-throw") ? "{\"phase\":\"response\"}" : "{}")).build();
            GatewayResult r = driver.call(route, request(), upstream);
            assertThat(r.status()).as(plugin).isEqualTo(503);
            assertThat(r.bodyUtf8()).as(plugin).doesNotContain(BODY_MARKER).contains("\"error\"");
            assertThat(r.upstreamRequests()).hasSize(1); // the upstream was called; its body was withheld
        }
    }

    @Test
    void theRunnerLogNeverContainsAuthorizationOrBodies() throws Exception {
        RouteConf route = RouteConf.builder("fc-log").preReq(new ConfEntry("test-inspect",
                "{\"vars\":[\"http_authorization\"],\"request_body\":true,\"proceed\":true}"))
                .postResp(new ConfEntry("test-throw", "{\"phase\":\"response\"}")).build();
        driver.call(route, request(), upstream);
        driver.call(RouteConf.builder("fc-log-2").preReq(new ConfEntry("test-throw", "{}")).build(), request(), upstream);
        String log = awaitLog("fc-log-2", "failed closed");
        assertThat(log).doesNotContain("SECRET-TOKEN").doesNotContain(BODY_MARKER).doesNotContain(SECRET_CONF_VALUE);
    }

    /** The runner's whole log once one of its lines mentions every fragment (lines reach the file asynchronously). */
    static String awaitLog(String... fragments) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        String log = runner.log();
        while (log.lines().noneMatch(l -> java.util.Arrays.stream(fragments).allMatch(l::contains)) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            log = runner.log();
        }
        // A leak check on a log that never got the line would pass vacuously.
        assertThat(log.lines().anyMatch(l -> java.util.Arrays.stream(fragments).allMatch(l::contains)))
                .as("runner log has a line with %s", java.util.Arrays.toString(fragments)).isTrue();
        return log;
    }
}
