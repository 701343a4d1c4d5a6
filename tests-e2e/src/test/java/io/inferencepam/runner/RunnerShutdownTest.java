package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Shutdown answers everything in flight (issue 10 item 4). APISIX sends SIGTERM on every reload;
 * a connection closed under a call makes it answer 503, and in the response phase send the
 * original, unmasked body (conformance P6, P10). So every call in flight at SIGTERM gets a reply
 * frame — its real answer if it finishes within {@code PAM_SHUTDOWN_DRAIN_MS}, else Stop 503 or
 * the safe error response — and only then is its connection closed. Real runner process, raw
 * connections speaking the protocol as APISIX does.
 */
class RunnerShutdownTest {
    static final Duration T = Duration.ofSeconds(20);

    enum Kind { SLOW_REQUEST, QUICK_REQUEST, NEVER_RESPONSE, INFO_REQUEST, INFO_RESPONSE }

    record Call(Kind kind, long id, RunnerConnection conn, int questions) {
    }

    @Test
    void sigtermUnderLoadAnswersEveryCallInFlightThenClosesItsConnection() throws Exception {
        try (RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of(
                "PAM_SHUTDOWN_DRAIN_MS", "800", "PAM_CALL_DEADLINE_MS", "30000")))) {
            long slowReq;
            long quickReq;
            long neverResp;
            long infoReq;
            long infoResp;
            try (RunnerConnection prep = RunnerConnection.open(runner.socket())) {
                slowReq = prepare(prep, "route#sd-slow#ext-plugin-pre-req#1", new ConfEntry("test-slow", "{\"millis\":20000}"));
                quickReq = prepare(prep, "route#sd-quick#ext-plugin-pre-req#1", new ConfEntry("test-slow", "{\"millis\":100}"));
                neverResp = prepare(prep, "route#sd-never#ext-plugin-post-resp#1", new ConfEntry("test-never", "{}"));
                // vars the call frame cannot answer (request_uri is raw; request_id): three questions in flight
                infoReq = prepare(prep, "route#sd-info#ext-plugin-pre-req#1",
                        new ConfEntry("test-inspect", "{\"vars\":[\"request_uri\",\"request_id\"],\"request_body\":true,\"proceed\":true}"),
                        new ConfEntry("test-slow", "{\"millis\":20000}"));
                infoResp = prepare(prep, "route#sd-info#ext-plugin-post-resp#1",
                        new ConfEntry("test-inspect", "{\"response_body\":true}"), new ConfEntry("test-never", "{}"));
            }
            List<Call> calls = new ArrayList<>();
            long id = 0;
            for (int i = 0; i < 12; i++) {
                calls.add(requestCall(runner, Kind.SLOW_REQUEST, id++, slowReq));
                calls.add(requestCall(runner, Kind.QUICK_REQUEST, id++, quickReq));
            }
            for (int i = 0; i < 10; i++) {
                calls.add(responseCall(runner, Kind.NEVER_RESPONSE, id++, neverResp));
            }
            for (int i = 0; i < 4; i++) {
                calls.add(requestCall(runner, Kind.INFO_REQUEST, id++, infoReq));
                calls.add(responseCall(runner, Kind.INFO_RESPONSE, id++, infoResp));
            }
            // the ExtraInfo calls have asked their questions (read below) and wait for the answers
            List<Call> waiting = new ArrayList<>();
            for (Call c : calls) {
                if (c.kind() == Kind.INFO_REQUEST || c.kind() == Kind.INFO_RESPONSE) {
                    int questions = c.kind() == Kind.INFO_REQUEST ? 3 : 1;
                    for (int q = 0; q < questions; q++) {
                        assertThat(c.conn().read(T).type()).isEqualTo(A6Client.RPC_EXTRA_INFO);
                    }
                    waiting.add(new Call(c.kind(), c.id(), c.conn(), questions));
                }
            }
            Thread.sleep(200); // let the others reach their plugins (not required: queued calls are in flight too)

            runner.process().destroy(); // SIGTERM, as APISIX sends on reload and stop

            for (Call c : waiting) { // APISIX answers the questions it was asked, shutdown or not
                for (int q = 0; q < c.questions(); q++) {
                    c.conn().send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer("answer".getBytes(StandardCharsets.UTF_8)), T);
                }
            }
            int realAnswers = 0;
            for (Call c : calls) {
                RunnerConnection.Frame reply;
                try {
                    reply = c.conn().read(T);
                } catch (EOFException bareClose) {
                    throw new AssertionError(c.kind() + " call " + c.id() + " saw its connection closed without a reply");
                }
                switch (c.kind()) {
                    case SLOW_REQUEST, INFO_REQUEST -> assertStop503(c, reply);
                    case QUICK_REQUEST -> {
                        assertThat(reply.type()).as(c.kind().name()).isEqualTo(A6Client.RPC_HTTP_REQ_CALL);
                        var r = A6Client.decodeRequestReply(reply.payload());
                        assertThat(r.id()).isEqualTo(c.id());
                        if (r.actionType() == 2) {
                            realAnswers++; // finished within the drain: its own answer (the Rewrite of test-slow)
                        } else {
                            assertStop503(c, reply);
                        }
                    }
                    case NEVER_RESPONSE, INFO_RESPONSE -> {
                        assertThat(reply.type()).as(c.kind().name()).isEqualTo(A6Client.RPC_HTTP_RESP_CALL);
                        var r = A6Client.decodeResponseReply(reply.payload());
                        assertThat(r.id()).isEqualTo(c.id());
                        assertThat(r.status()).isEqualTo(503);
                        assertThat(new String(r.body().orElseThrow(), StandardCharsets.UTF_8)).contains("gateway_response_policy_failed");
                    }
                }
                // the connection is closed only after the reply
                assertThatThrownBy(() -> c.conn().read(T)).as("closed after the reply").isInstanceOf(EOFException.class);
                c.conn().close();
            }
            System.out.printf("shutdown under load: %d calls answered, %d quick ones with their own answer within the drain%n",
                    calls.size(), realAnswers);
            assertThat(runner.process().waitFor(10, TimeUnit.SECONDS)).as("the runner exits").isTrue();
            assertThat(runner.process().exitValue()).isIn(0, 143);
        }
    }

    static void assertStop503(Call c, RunnerConnection.Frame reply) {
        assertThat(reply.type()).as(c.kind().name()).isEqualTo(A6Client.RPC_HTTP_REQ_CALL);
        var r = A6Client.decodeRequestReply(reply.payload());
        assertThat(r.id()).isEqualTo(c.id());
        assertThat(r.actionType()).as(c.kind().name()).isEqualTo(1);
        assertThat(r.stop().status()).isEqualTo(503);
        assertThat(new String(r.stop().body().orElseThrow(), StandardCharsets.UTF_8)).contains("gateway_policy_unavailable");
    }

    static long prepare(RunnerConnection c, String key, ConfEntry... conf) throws IOException {
        c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(conf), key), T);
        RunnerConnection.Frame f = c.read(T);
        assertThat(f.type()).as("PrepareConf %s", key).isEqualTo(A6Client.RPC_PREPARE_CONF);
        return A6Client.decodePrepareReply(f.payload());
    }

    static Call requestCall(RunnerProcess runner, Kind kind, long id, long token) throws IOException {
        RunnerConnection c = RunnerConnection.open(runner.socket());
        c.send(A6Client.RPC_HTTP_REQ_CALL, A6Client.requestCall(id, token, new byte[] {127, 0, 0, 1}, 0, "/v1/chat",
                List.of(), List.of(new A6Client.Entry("host", "gw.test"))), T);
        return new Call(kind, id, c, 0);
    }

    static Call responseCall(RunnerProcess runner, Kind kind, long id, long token) throws IOException {
        RunnerConnection c = RunnerConnection.open(runner.socket());
        c.send(A6Client.RPC_HTTP_RESP_CALL, A6Client.responseCall(id, token, 200,
                List.of(new A6Client.Entry("Content-Type", "application/json"))), T);
        return new Call(kind, id, c, 0);
    }
}
