package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.RpcFrame;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Conf tokens against the real runner process: a token is unknowable to another lifetime of the
 * runner (a separately run runner restarted while APISIX workers keep their cached tokens,
 * conformance N2 / R7c) and is bound to the phase it was prepared for.
 */
class ConfTokenTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final ConfEntry DENY = new ConfEntry("test-stop", "{\"status\":401,\"body\":\"denied\"}");
    private static final ConfEntry NOOP = new ConfEntry("test-noop", "{}");

    /**
     * The incident: worker 1 holds the token of a route that answers 401; the runner restarts;
     * worker 2 prepares another, pass-through route first. Worker 1's stale token must not name
     * worker 2's conf in the new process: it gets CONF_TOKEN_NOT_FOUND, re-prepares, and the
     * protected route still answers 401.
     */
    @Test
    void aTokenFromAPreviousRunnerLifetimeIsNotFoundInTheNextOne() throws Exception {
        try (RunnerProcess runner = Ready.await(RunnerProcess.start()); EchoUpstream upstream = EchoUpstream.start();
             ApisixDriver worker1 = new ApisixDriver(runner.socket()); ApisixDriver worker2 = new ApisixDriver(runner.socket())) {
            RouteConf protectedRoute = RouteConf.builder("tok-protected").preReq(DENY).build();
            RouteConf openRoute = RouteConf.builder("tok-open").preReq(NOOP).build();
            assertThat(worker1.call(protectedRoute, get(), upstream).status()).isEqualTo(401);

            runner.restart();
            Ready.await(runner);
            assertThat(worker2.call(openRoute, get(), upstream).status()).isEqualTo(200);

            GatewayResult r = worker1.call(protectedRoute, get(), upstream);
            assertThat(r.status()).as(r.toString()).isEqualTo(401);
            assertThat(r.upstreamRequests()).isEmpty();
            assertThat(r.transcript()).as("the stale token was refused, then the route re-prepared")
                    .anyMatch(f -> f.type() == A6Client.RPC_ERROR && f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX)
                    .anyMatch(f -> f.type() == A6Client.RPC_PREPARE_CONF && f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER);
        }
    }

    @Test
    void tokensOfTwoRunnerLifetimesDiffer() throws Exception {
        try (RunnerProcess runner = Ready.await(RunnerProcess.start())) {
            long first = prepare(runner, "route#life#ext-plugin-pre-req#1");
            runner.restart();
            Ready.await(runner);
            long second = prepare(runner, "route#life#ext-plugin-pre-req#1");
            assertThat(second).isNotEqualTo(first);
            assertThat(first).isBetween(1L, 0xFFFF_FFFFL); // uint32 in the A6 protocol
            assertThat(second).isBetween(1L, 0xFFFF_FFFFL);
        }
    }

    @Test
    void aTokenIsOnlyFoundForCallsOfItsOwnPhase() throws Exception {
        try (RunnerProcess runner = Ready.await(RunnerProcess.start());
             RunnerConnection c = RunnerConnection.open(runner.socket())) {
            for (String plugin : List.of("ext-plugin-pre-req", "ext-plugin-post-req")) {
                long token = prepare(c, "route#phase#" + plugin + "#1");
                c.send(A6Client.RPC_HTTP_RESP_CALL, A6Client.responseCall(1, token, 200, List.of()), T);
                RunnerConnection.Frame f = c.read(T);
                assertThat(f.type()).as(plugin + " token in a response call").isEqualTo(A6Client.RPC_ERROR);
                assertThat(A6Client.decodeError(f.payload())).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
            }
        }
        try (RunnerProcess runner = Ready.await(RunnerProcess.start());
             RunnerConnection c = RunnerConnection.open(runner.socket())) {
            long token = prepare(c, "route#phase#ext-plugin-post-resp#1");
            c.send(A6Client.RPC_HTTP_REQ_CALL, A6Client.requestCall(2, token, new byte[] {127, 0, 0, 1}, 0, "/", List.of(), List.of()), T);
            RunnerConnection.Frame f = c.read(T);
            assertThat(f.type()).as("post-resp token in a request call").isEqualTo(A6Client.RPC_ERROR);
            assertThat(A6Client.decodeError(f.payload())).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        }
    }

    @Test
    void aKeyOfAMergedRouteAndServiceConfIsBoundToItsPhase() throws Exception {
        // APISIX names a route merged with its service "route&service#<route>&<service>#<plugin>#<ver>&<ver>"
        try (RunnerProcess runner = Ready.await(RunnerProcess.start());
             RunnerConnection c = RunnerConnection.open(runner.socket())) {
            long token = prepare(c, "route&service#r1&s1#ext-plugin-pre-req#12&7");
            c.send(A6Client.RPC_HTTP_RESP_CALL, A6Client.responseCall(1, token, 200, List.of()), T);
            RunnerConnection.Frame f = c.read(T);
            assertThat(f.type()).isEqualTo(A6Client.RPC_ERROR);
            assertThat(A6Client.decodeError(f.payload())).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        }
    }

    private static ClientRequest get() {
        return ClientRequest.builder("GET", "/v1/models").build();
    }

    private static long prepare(RunnerProcess runner, String key) throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            return prepare(c, key);
        }
    }

    private static long prepare(RunnerConnection c, String key) throws Exception {
        c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(NOOP), key), T);
        RunnerConnection.Frame f = c.read(T);
        assertThat(f.type()).as("PrepareConf of " + key).isEqualTo(A6Client.RPC_PREPARE_CONF);
        return A6Client.decodePrepareReply(f.payload());
    }
}
