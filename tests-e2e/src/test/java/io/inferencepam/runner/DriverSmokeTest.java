package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The driver's basic paths against the real runner: pass, Stop, Rewrite, post-resp. */
class DriverSmokeTest {
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

    @Test
    void passThroughReachesUpstream() {
        RouteConf route = RouteConf.builder("smoke-pass").preReq(new ConfEntry("test-noop", "{}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/v1/x?a=1").header("Host", "h.test")
                .header("Content-Type", "application/json").body("{\"k\":\"é\"}").build(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.upstreamRequests()).hasSize(1);
        assertThat(r.upstreamRequests().get(0).target()).isEqualTo("/v1/x?a=1");
        assertThat(r.upstreamRequests().get(0).bodyUtf8()).isEqualTo("{\"k\":\"é\"}");
        assertThat(r.upstreamRequests().get(0).header("X-Forwarded-Port")).contains("9080");
    }

    @Test
    void stopIsApplied() {
        RouteConf route = RouteConf.builder("smoke-stop")
                .preReq(new ConfEntry("test-stop", "{\"status\":403,\"headers\":{\"X-Why\":\"no\"},\"body\":\"denied\"}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/x").build(), upstream);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.header("x-why")).isEqualTo("no");
        assertThat(r.headers()).anyMatch(h -> h.name().equals("x-why"));
        assertThat(r.bodyUtf8()).isEqualTo("denied");
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void rewriteWithBodyAndPostResp() {
        RouteConf route = RouteConf.builder("smoke-rw")
                .preReq(new ConfEntry("test-rewrite", "{\"path\":\"/new path\",\"headers\":{\"x-a\":\"1\"},\"args\":{\"q\":[\"v\"]},\"body\":\"longer body here\"}"))
                .postResp(new ConfEntry("test-respond", "{\"headers\":{\"x-post\":\"yes\"},\"response_body\":true}"))
                .build();
        GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/old?z=1").header("Content-Length", "3").body("abc").build(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        var up = r.upstreamRequests().get(0);
        assertThat(up.target()).isIn("/new%20path?z=1&q=v", "/new%20path?q=v&z=1");
        assertThat(up.bodyUtf8()).isEqualTo("longer body here");
        assertThat(up.header("content-length")).contains("16");
        assertThat(r.header("x-post")).isEqualTo("yes");
        assertThat(r.bodyUtf8()).contains("\"method\":\"POST\"");
        assertThat(driver.cachedTokens()).isGreaterThanOrEqualTo(2);
    }
}
