package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.RpcFrame;
import io.inferencepam.e2e.support.RunnerProcess;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Start, restart, shutdown and socket permissions of the real runner process. */
class RunnerLifecycleTest {

    @Test
    void restartIsTransparentThanksToReprepare() throws Exception {
        try (RunnerProcess runner = RunnerProcess.start(); EchoUpstream upstream = EchoUpstream.start();
             ApisixDriver driver = new ApisixDriver(runner.socket())) {
            RouteConf route = RouteConf.builder("life-restart").preReq(new ConfEntry("test-rewrite", "{\"headers\":{\"x-pre\":\"1\"}}"))
                    .postResp(new ConfEntry("test-respond", "{\"headers\":{\"x-post\":\"1\"}}")).build();
            assertThat(driver.call(route, ClientRequest.builder("GET", "/a").build(), upstream).status()).isEqualTo(200);
            runner.restart();
            GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/a").build(), upstream);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            assertThat(r.header("x-post")).isEqualTo("1");
            assertThat(r.upstreamRequests()).hasSize(1);
            assertThat(r.upstreamRequests().get(0).header("x-pre")).contains("1");
            // R7c: stale token → CONF_TOKEN_NOT_FOUND → flush → PrepareConf → retry
            assertThat(r.transcript()).anyMatch(f -> f.type() == 0 && f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX);
            assertThat(r.transcript().stream().filter(f -> f.type() == 1 && f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER).count())
                    .as("both phases re-prepared").isEqualTo(2);
        }
    }

    @Test
    void socketIs0660ByDefaultAndPamSocketModeIsHonoured() throws Exception {
        // checked the moment the socket file appears: it must never exist with other permissions
        try (RunnerProcess runner = RunnerProcess.start()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runner.socket()))).isEqualTo("rw-rw----");
        }
        try (RunnerProcess runner = RunnerProcess.start(Map.of("PAM_SOCKET_MODE", "600"))) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runner.socket()))).isEqualTo("rw-------");
        }
    }

    @Test
    void startTimeAndShutdownTimeAreMeasured() throws Exception {
        try (RunnerProcess runner = RunnerProcess.start()) {
            // a second launch measures a warm start (class data of the first is in the page cache)
            runner.stop();
            Duration start = runner.launch();
            // SIGTERM right after the socket appears: the shutdown hook must already be in place
            Duration shutdown = runner.stop();
            System.out.printf("runner start to socket-ready: %d ms; SIGTERM to exit: %d ms%n", start.toMillis(), shutdown.toMillis());
            assertThat(runner.process().exitValue()).as("clean exit on SIGTERM").isIn(0, 143);
            assertThat(shutdown).as("shutdown on SIGTERM (requirement: < 1 s; lenient bound for loaded CI hosts)")
                    .isLessThan(Duration.ofSeconds(3));
            assertThat(Files.exists(runner.socket())).as("socket file removed on shutdown").isFalse();
        }
    }
}
