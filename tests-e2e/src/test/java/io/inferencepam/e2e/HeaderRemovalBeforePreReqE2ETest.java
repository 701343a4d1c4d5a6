package io.inferencepam.e2e;

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
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What conformance H3/H4 mean for {@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ}: a global rule that
 * reads the request headers and then removes one (key-auth with {@code hide_credentials}) leaves
 * APISIX's call frame with fewer than 100 entries that lacks a header past line 100, which nginx
 * still forwards. pam-guard refuses method-override headers; here the override is line 110.
 * The default runner asks the absent header and refuses; a runner told that nothing removes headers
 * (the statement is false on this node) takes the short frame as complete and lets the override
 * through to the model server.
 */
class HeaderRemovalBeforePreReqE2ETest {
    static final String CHAT = "{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    static RunnerProcess runner;
    static RunnerProcess stated;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static ApisixDriver statedDriver;

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start();
        stated = RunnerProcess.start(Map.of("PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ", "true"));
        upstream = EchoUpstream.start();
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{}");
        driver = new ApisixDriver(runner.socket());
        statedDriver = new ApisixDriver(stated.socket());
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {driver, statedDriver, upstream, runner, stated}) {
            c.close();
        }
    }

    /** 120 header lines: the API key three times among the first ten, X-HTTP-Method-Override at line 110. */
    static ClientRequest overrideAtLine110() {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions")
                .header("Host", "gw.test").header("Content-Type", "application/json")
                .header("X-Api-Key", "k1").header("X-H-001", "1").header("X-Api-Key", "k2").header("X-H-002", "2")
                .header("X-Api-Key", "k3");
        int lines = 7;
        int n = 3;
        for (; lines < 109; lines++) {
            b.header(String.format("X-H-%03d", n), Integer.toString(n++));
        }
        b.header("X-HTTP-Method-Override", "DELETE");
        for (lines++; lines < 119; lines++) { // Content-Length is the 120th
            b.header(String.format("X-H-%03d", n), Integer.toString(n++));
        }
        return b.body(CHAT).build();
    }

    static RouteConf route(String id, boolean removalAfterRead) {
        RouteConf.Builder b = RouteConf.builder(id).preReq(new ConfEntry("pam-guard", "{}"));
        return removalAfterRead ? b.removesHeaderBeforePreReq("X-Api-Key", true).build() : b.build();
    }

    @Test
    void theDefaultRunnerAsksTheAbsentHeaderAndRefuses() {
        GatewayResult r = driver.call(route("hr-default", true), overrideAtLine110(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.bodyUtf8()).contains("method_override_refused");
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void withTheFalseStatementAShortFrameLetsTheOverrideThrough() {
        GatewayResult r = statedDriver.call(route("hr-stated", true), overrideAtLine110(), upstream);
        // the frame: the cached first 100 lines minus the three X-Api-Key lines
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.upstreamRequests()).singleElement()
                .satisfies(u -> assertThat(u.header("X-HTTP-Method-Override")).hasValue("DELETE"));
    }

    @Test
    void withoutTheRemovalTheStatedRunnerSeesACutListAndRefuses() {
        GatewayResult r = statedDriver.call(route("hr-none", false), overrideAtLine110(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.upstreamRequests()).isEmpty();
    }
}
