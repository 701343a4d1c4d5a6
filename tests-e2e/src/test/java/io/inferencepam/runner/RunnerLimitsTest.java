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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Bounded resources: a full executor fails closed; an evicted conf token is re-prepared transparently. */
class RunnerLimitsTest {

    @Test
    void aFullBlockingExecutorFailsClosedAndTheOtherCallsStillSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_BLOCKING_THREADS", "1", "PAM_EXECUTOR_QUEUE", "1")));
             EchoUpstream upstream = EchoUpstream.start(); ApisixDriver driver = new ApisixDriver(runner.socket())) {
            RouteConf slow = RouteConf.builder("lim-slow").preReq(new ConfEntry("test-slow", "{\"millis\":1500}")).build();
            driver.call(RouteConf.builder("lim-warm").preReq(new ConfEntry("test-noop", "{}")).build(),
                    ClientRequest.builder("GET", "/w").build(), upstream);
            List<CompletableFuture<GatewayResult>> calls = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                calls.add(CompletableFuture.supplyAsync(() -> driver.call(slow, ClientRequest.builder("GET", "/s").build(), upstream), pool));
            }
            List<Integer> statuses = new ArrayList<>();
            for (var c : calls) {
                statuses.add(c.get(60, TimeUnit.SECONDS).status());
            }
            // one thread + one queue slot: at most two proceed, the rest are rejected and answered 503
            assertThat(statuses).contains(503);
            assertThat(statuses).contains(200);
            assertThat(statuses).allMatch(s -> s == 200 || s == 503);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anEvictedConfTokenIsReprepared() throws Exception {
        try (RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_CONF_CACHE_CAPACITY", "2")));
             EchoUpstream upstream = EchoUpstream.start(); ApisixDriver driver = new ApisixDriver(runner.socket())) {
            List<RouteConf> routes = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                routes.add(RouteConf.builder("lim-route-" + i).preReq(new ConfEntry("test-rewrite", "{\"headers\":{\"x-route\":\"" + i + "\"}}")).build());
            }
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < routes.size(); i++) {
                    GatewayResult r = driver.call(routes.get(i), ClientRequest.builder("GET", "/r").build(), upstream);
                    assertThat(r.status()).as(r + "\n" + runner.log()).isEqualTo(200);
                    assertThat(r.upstreamRequests().get(0).header("x-route")).contains(Integer.toString(i));
                }
            }
            // with capacity 2 and 6 routes, some calls must have met CONF_TOKEN_NOT_FOUND and re-prepared
            GatewayResult again = driver.call(routes.get(0), ClientRequest.builder("GET", "/r").build(), upstream);
            assertThat(again.status()).isEqualTo(200);
            assertThat(again.transcript()).anyMatch(f -> f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX && f.type() == 0);
        }
    }
}
