package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Nothing blocks the event loop (DESIGN §3 invariant 3): while one call's plugin sleeps on the
 * blocking executor, or one connection waits for ExtraInfo answers that never come, calls on other
 * connections complete. Asserted by order of completion, not by timing.
 */
class ConcurrencyTest {
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static ExecutorService pool;

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start();
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        pool = Executors.newFixedThreadPool(24);
    }

    @AfterAll
    static void stop() throws Exception {
        pool.shutdownNow();
        driver.close();
        upstream.close();
        runner.close();
    }

    @Test
    void aBlockingPluginDoesNotDelayCallsOnOtherConnections() throws Exception {
        RouteConf slow = RouteConf.builder("conc-slow").preReq(new ConfEntry("test-slow", "{\"millis\":4000}")).build();
        RouteConf fast = RouteConf.builder("conc-fast").preReq(new ConfEntry("test-noop", "{}")).build();
        driver.call(fast, ClientRequest.builder("GET", "/warm").build(), upstream); // prepare once
        CompletableFuture<GatewayResult> slowCall = CompletableFuture.supplyAsync(
                () -> driver.call(slow, ClientRequest.builder("GET", "/slow").build(), upstream), pool);
        Thread.sleep(200); // let the slow call reach its plugin
        List<CompletableFuture<GatewayResult>> fastCalls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            fastCalls.add(CompletableFuture.supplyAsync(() -> driver.call(fast, ClientRequest.builder("GET", "/fast").build(), upstream), pool));
        }
        CompletableFuture.allOf(fastCalls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        assertThat(slowCall).as("the slow call is still running while 40 fast calls completed").isNotDone();
        for (var f : fastCalls) {
            assertThat(f.get().status()).isEqualTo(200);
        }
        GatewayResult s = slowCall.get(30, TimeUnit.SECONDS);
        assertThat(s.status()).isEqualTo(200);
        assertThat(s.upstreamRequests().get(0).header("x-slept")).contains("4000");
        assertThat(driver.connectionsOpened()).as("many connections, like nginx's pool").isGreaterThan(2);
    }

    @Test
    void aConnectionWaitingForExtraInfoAnswersDoesNotBlockOthers() throws Exception {
        try (RunnerConnection stuck = RunnerConnection.open(runner.socket())) {
            Duration t = Duration.ofSeconds(10);
            stuck.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-inspect", "{\"vars\":[\"x\"]}")),
                    "route#conc-stuck#ext-plugin-pre-req#1"), t);
            long token = A6Client.decodePrepareReply(stuck.read(t).payload());
            stuck.send(A6Client.RPC_HTTP_REQ_CALL, A6Client.requestCall(1, token, new byte[] {127, 0, 0, 1}, 0, "/", List.of(), List.of()), t);
            assertThat(stuck.read(t).type()).isEqualTo(A6Client.RPC_EXTRA_INFO); // never answered
            RouteConf fast = RouteConf.builder("conc-fast-2").preReq(new ConfEntry("test-noop", "{}")).build();
            for (int i = 0; i < 10; i++) {
                assertThat(driver.call(fast, ClientRequest.builder("GET", "/f").build(), upstream).status()).isEqualTo(200);
            }
        }
    }
}
