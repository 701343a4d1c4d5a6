package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.PluginRegistry;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.FrameEncoder;
import io.inferencepam.runner.protocol.RpcType;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.HashedWheelTimer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * PrepareConf and the token check of a call, on one session: tokens are bound to their phase, and
 * a refused response-phase conf still gets a token, whose calls get the safe 503 (conformance P11).
 */
class ConfTokenSessionTest {
    private static final String PRE = "route#r1#ext-plugin-pre-req#1";
    private static final String POST_RESP = "route#r1#ext-plugin-post-resp#1";

    private final HashedWheelTimer timer = new HashedWheelTimer();
    private final PluginPool pool = new PluginPool("pool", 2, 1000, timer);
    private final AtomicLong now = new AtomicLong();
    private final ConfStore confs = new ConfStore(Duration.ofMinutes(5), Duration.ofSeconds(5), 100, now::get, 12345);
    private final PrometheusMetrics registry = new PrometheusMetrics();
    private final RunnerMetrics metrics = new RunnerMetrics(registry);
    private final ExchangeStore exchanges = new ExchangeStore(Duration.ofMinutes(1), 100);
    private final CallDispatcher dispatcher = new CallDispatcher(pool, pool, timer, exchanges, Duration.ofSeconds(5), metrics);
    private final CompletableFuture<ConfCompiler> compiler = CompletableFuture.completedFuture(new ConfCompiler(
            PluginRegistry.of(List.of(factory("any", Set.of(Phase.REQUEST, Phase.RESPONSE)), factory("request-only", Set.of(Phase.REQUEST))),
                    ConfCompiler.STRICT_JSON)));

    @AfterEach
    void stop() {
        pool.shutdownNow();
        timer.stop();
    }

    private static PluginFactory factory(String name, Set<Phase> phases) {
        return new PluginFactory() {
            public String name() {
                return name;
            }

            public String confSchema() {
                return "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"n\":{\"type\":\"integer\"}}}";
            }

            public Set<Phase> phases() {
                return phases;
            }

            public Plugin create(JsonNode conf) {
                return new Plugin() {
                };
            }
        };
    }

    private EmbeddedChannel channel(CompletableFuture<ConfCompiler> compiler, Executor prepareExecutor, Duration prepareDeadline) {
        return new EmbeddedChannel(new FrameEncoder(), new FrameDecoder(1 << 20, 10_000),
                new RpcSession(compiler, confs, dispatcher, pool, prepareExecutor, metrics, prepareDeadline));
    }

    private EmbeddedChannel channel() {
        return channel(compiler, pool, Duration.ofSeconds(5));
    }

    private static ByteBuf frame(byte type, FlatBufferBuilder b) {
        byte[] payload = b.sizedByteArray();
        return Unpooled.buffer().writeByte(type).writeMedium(payload.length).writeBytes(payload);
    }

    private static ByteBuf prepare(String key, String plugin, String value) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int e = TextEntry.createTextEntry(b, b.createString(plugin), b.createString(value));
        int conf = io.github.api7.A6.PrepareConf.Req.createConfVector(b, new int[] {e});
        b.finish(io.github.api7.A6.PrepareConf.Req.createReq(b, conf, b.createString(key)));
        return frame(RpcType.PREPARE_CONF, b);
    }

    private static ByteBuf requestCall(long id, long token) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, new byte[] {127, 0, 0, 1});
        int path = b.createString("/");
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, id, ip, 0, path, 0, 0, token));
        return frame(RpcType.HTTP_REQ_CALL, b);
    }

    private static ByteBuf responseCall(long id, long token) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, id, 200, 0, token));
        return frame(RpcType.HTTP_RESP_CALL, b);
    }

    /** The next reply frame: type byte and payload. */
    private record Reply(byte type, ByteBuffer payload) {
        long token() {
            assertThat(type).as("a PrepareConf reply").isEqualTo(RpcType.PREPARE_CONF);
            return io.github.api7.A6.PrepareConf.Resp.getRootAsResp(payload).confToken();
        }

        int errorCode() {
            assertThat(type).as("an RPC_ERROR").isEqualTo((byte) 0);
            return io.github.api7.A6.Err.Resp.getRootAsResp(payload).code();
        }

        io.github.api7.A6.HTTPRespCall.Resp response() {
            assertThat(type).as("an HTTPRespCall reply").isEqualTo(RpcType.HTTP_RESP_CALL);
            return io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(payload);
        }
    }

    private static Reply reply(EmbeddedChannel ch) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            ch.runPendingTasks();
            ByteBuf out = ch.readOutbound();
            if (out != null) {
                byte[] payload = new byte[out.readableBytes() - 4];
                out.getBytes(4, payload);
                byte type = out.getByte(0);
                out.release();
                return new Reply(type, ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
            }
            Thread.sleep(2);
        }
        throw new AssertionError("no reply");
    }

    /** Expects the one question a fail-closed call asks, {@code request_id}, and answers it (null: var absent). */
    private static void answerRequestId(EmbeddedChannel ch, String value) throws InterruptedException {
        Reply q = reply(ch);
        assertThat(q.type()).as("an ExtraInfo question").isEqualTo(RpcType.EXTRA_INFO);
        var req = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(q.payload());
        assertThat(req.infoType()).isEqualTo(io.github.api7.A6.ExtraInfo.Info.Var);
        var v = (io.github.api7.A6.ExtraInfo.Var) req.info(new io.github.api7.A6.ExtraInfo.Var());
        assertThat(v.name()).isEqualTo("request_id");
        FlatBufferBuilder b = new FlatBufferBuilder();
        if (value == null) {
            io.github.api7.A6.ExtraInfo.Resp.startResp(b);
            b.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(b));
        } else {
            int vec = b.createByteVector(value.getBytes(StandardCharsets.UTF_8));
            b.finish(io.github.api7.A6.ExtraInfo.Resp.createResp(b, vec));
        }
        ch.writeInbound(frame(RpcType.EXTRA_INFO, b));
    }

    private static void assertSafe503(Reply r, long id) {
        var resp = r.response();
        assertThat(resp.id()).isEqualTo(id);
        assertThat(resp.status()).isEqualTo(503);
        byte[] body = new byte[resp.bodyLength()];
        resp.bodyAsByteBuffer().get(body);
        assertThat(new String(body, StandardCharsets.UTF_8)).contains("gateway_response_policy_failed");
    }

    private String scrape() {
        return registry.scrape();
    }

    @Test
    void aRequestPhaseTokenIsNotFoundInAResponseCallAndViceVersa() throws Exception {
        EmbeddedChannel ch = channel();
        ch.writeInbound(prepare(PRE, "any", "{}"));
        long pre = reply(ch).token();
        ch.writeInbound(responseCall(1, pre));
        assertThat(reply(ch).errorCode()).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        ch.writeInbound(prepare(POST_RESP, "any", "{}"));
        long post = reply(ch).token();
        ch.writeInbound(requestCall(2, post));
        assertThat(reply(ch).errorCode()).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        ch.writeInbound(requestCall(3, pre));
        assertThat(reply(ch).type()).isEqualTo(RpcType.HTTP_REQ_CALL);
        assertThat(scrape()).contains("pam_runner_rpc_total{type=\"http_resp_call\",result=\"conf_token_wrong_phase\"} 1");
        ch.finishAndReleaseAll();
    }

    @Test
    void aKeyThatNamesNoPhaseFailsClosedInBothPhases() throws Exception {
        // APISIX always names its phase plugin in the key; should a key ever not (another key
        // layout, another gateway version), RPC_ERROR would release the upstream body if it was a
        // post-resp PrepareConf (P11). A token whose calls fail closed in either phase cannot.
        EmbeddedChannel ch = channel();
        ch.writeInbound(prepare("probe", "any", "{}"));
        long token = reply(ch).token();
        ch.writeInbound(responseCall(1, token));
        answerRequestId(ch, "rid-probe");
        assertSafe503(reply(ch), 1);
        ch.writeInbound(requestCall(2, token));
        answerRequestId(ch, "rid-probe-2");
        Reply stop = reply(ch);
        assertThat(stop.type()).isEqualTo(RpcType.HTTP_REQ_CALL);
        var r = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(stop.payload());
        assertThat(r.actionType()).isEqualTo(io.github.api7.A6.HTTPReqCall.Action.Stop);
        var action = (io.github.api7.A6.HTTPReqCall.Stop) r.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(action.status()).isEqualTo(503);
        assertThat(scrape()).contains("pam_runner_conf_refused_total{phase=\"unknown\",reason=\"unbound_key\"} 1");
        ch.finishAndReleaseAll();
    }

    @Test
    void aRefusedResponseConfClosesTheExchangeItsRequestPhaseOpened() throws Exception {
        // The response phase is the last use of an exchange: left open, every call of a route whose
        // post-resp conf is refused would hold one until its idle time, and a busy such route would
        // push the live exchanges of other routes out of the bounded store.
        exchanges.open("rid-1");
        exchanges.open("rid-other");
        EmbeddedChannel ch = channel();
        ch.writeInbound(prepare(POST_RESP, "request-only", "{}"));
        long token = reply(ch).token();
        ch.writeInbound(responseCall(5, token));
        answerRequestId(ch, "rid-1");
        assertSafe503(reply(ch), 5);
        assertThat(exchanges.size()).as("rid-1 closed, rid-other untouched").isEqualTo(1);
        ch.writeInbound(responseCall(6, token));
        answerRequestId(ch, null); // no request_id: nothing to close, still the safe 503
        assertSafe503(reply(ch), 6);
        assertThat(exchanges.size()).isEqualTo(1);
        ch.finishAndReleaseAll();
    }

    /** A registry with one plugin whose warm-up is {@code warmUp}, for the phase it is asked in. */
    private static CompletableFuture<ConfCompiler> warming(java.util.function.Function<Phase, CompletableFuture<?>> warmUp) {
        PluginFactory f = new PluginFactory() {
            public String name() {
                return "warming";
            }

            public String confSchema() {
                return "{\"type\":\"object\"}";
            }

            public Plugin create(JsonNode conf) {
                return new Plugin() {
                    @Override
                    public java.util.concurrent.CompletionStage<?> warmUp(Phase phase) {
                        return warmUp.apply(phase);
                    }
                };
            }
        };
        return CompletableFuture.completedFuture(new ConfCompiler(PluginRegistry.of(List.of(f), ConfCompiler.STRICT_JSON)));
    }

    @Test
    void thePrepareConfAnswerWaitsForThePluginsWarmUp() throws Exception {
        CompletableFuture<Object> keys = new CompletableFuture<>();
        java.util.List<Phase> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        EmbeddedChannel ch = channel(warming(phase -> {
            asked.add(phase);
            return keys;
        }), pool, Duration.ofSeconds(30));
        ch.writeInbound(prepare(PRE, "warming", "{}"));
        for (int i = 0; i < 50 && asked.isEmpty(); i++) {
            Thread.sleep(10);
            ch.runPendingTasks();
        }
        assertThat(asked).containsExactly(Phase.REQUEST);
        ch.runPendingTasks();
        assertThat((Object) ch.readOutbound()).as("no answer while the plugin warms up").isNull();
        keys.complete("loaded");
        long token = reply(ch).token();
        assertThat(confs.get(token)).isInstanceOf(ConfBinding.Compiled.class);
        ch.finishAndReleaseAll();
    }

    @Test
    void aFailedOrUnfinishedWarmUpNeverRefusesTheConf() throws Exception {
        EmbeddedChannel failed = channel(warming(phase -> CompletableFuture.failedFuture(new java.io.IOException("IdP down"))),
                pool, Duration.ofSeconds(30));
        failed.writeInbound(prepare(PRE, "warming", "{}"));
        assertThat(confs.get(reply(failed).token())).isInstanceOf(ConfBinding.Compiled.class);
        failed.finishAndReleaseAll();

        CompletableFuture<Object> never = new CompletableFuture<>();
        EmbeddedChannel unfinished = channel(warming(phase -> never), pool, Duration.ofMillis(200));
        unfinished.writeInbound(prepare(PRE, "warming", "{}"));
        assertThat(confs.get(reply(unfinished).token())).as("bound at the deadline, not refused").isInstanceOf(ConfBinding.Compiled.class);
        assertThat(never).as("the plugin's own future is left alone").isNotDone();
        unfinished.finishAndReleaseAll();

        EmbeddedChannel throwing = channel(warming(phase -> {
            throw new IllegalStateException("bug");
        }), pool, Duration.ofSeconds(30));
        throwing.writeInbound(prepare(POST_RESP, "warming", "{}"));
        assertThat(confs.get(reply(throwing).token())).isInstanceOf(ConfBinding.Compiled.class);
        throwing.finishAndReleaseAll();
        assertThat(scrape()).doesNotContain("pam_runner_conf_refused_total{");
    }

    @Test
    void aRefusedRequestPhaseConfStillAnswersRpcError() throws Exception {
        EmbeddedChannel ch = channel();
        ch.writeInbound(prepare(PRE, "any", "{\"n\":\"x\"}"));
        assertThat(reply(ch).errorCode()).isEqualTo(io.github.api7.A6.Err.Code.BAD_REQUEST);
        assertThat(confs.size()).isZero();
        assertThat(scrape()).contains("pam_runner_conf_refused_total{phase=\"request\",reason=\"invalid\"} 1");
        ch.finishAndReleaseAll();
    }

    @Test
    void aRefusedResponsePhaseConfGetsATokenWhoseCallsGetTheSafe503() throws Exception {
        for (String[] conf : List.of(new String[] {"request-only", "{}"}, new String[] {"any", "{\"n\":\"x\"}"},
                new String[] {"no-such-plugin", "{}"})) {
            EmbeddedChannel ch = channel();
            ch.writeInbound(prepare(POST_RESP, conf[0], conf[1]));
            long token = reply(ch).token();
            for (long id = 10; id < 12; id++) { // lasting: every call, not just the first
                ch.writeInbound(responseCall(id, token));
                answerRequestId(ch, "rid-" + id);
                assertSafe503(reply(ch), id);
            }
            now.addAndGet(Duration.ofMinutes(1).toNanos());
            ch.writeInbound(responseCall(12, token));
            answerRequestId(ch, "rid-12");
            assertSafe503(reply(ch), 12);
            ch.writeInbound(requestCall(13, token));
            assertThat(reply(ch).errorCode()).as("still bound to its phase").isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
            ch.finishAndReleaseAll();
        }
        assertThat(scrape()).contains("pam_runner_conf_refused_total{phase=\"response\",reason=\"invalid\"} 3")
                .contains("pam_runner_call_outcomes_total{phase=\"response\",outcome=\"conf_refused\"} 9");
    }

    @Test
    void aResponseConfNotPreparedInTimeFailsClosedBrieflyThenIsPreparedAgain() throws Exception {
        CompletableFuture<ConfCompiler> stillLoading = new CompletableFuture<>();
        EmbeddedChannel ch = channel(stillLoading, pool, Duration.ofMillis(50));
        ch.writeInbound(prepare(POST_RESP, "any", "{}"));
        long token = reply(ch).token();
        ch.writeInbound(responseCall(20, token));
        answerRequestId(ch, "rid-20");
        assertSafe503(reply(ch), 20);
        stillLoading.complete(compiler.join()); // plugins loaded now; the late conf is not bound to the token
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        ch.writeInbound(responseCall(21, token));
        assertThat(reply(ch).errorCode()).as("APISIX re-prepares instead of safe-erroring for an hour")
                .isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        // APISIX closes a connection after an RPC_ERROR and prepares again on another one
        EmbeddedChannel next = channel(stillLoading, pool, Duration.ofSeconds(30));
        next.writeInbound(prepare(POST_RESP, "any", "{}"));
        long fresh = reply(next).token();
        assertThat(fresh).isNotEqualTo(token);
        next.writeInbound(responseCall(22, fresh));
        assertThat(reply(next).response().status()).isEqualTo(200);
        assertThat(scrape()).contains("pam_runner_conf_refused_total{phase=\"response\",reason=\"deadline\"} 1");
        ch.finishAndReleaseAll();
        next.finishAndReleaseAll();
    }

    @Test
    void aFullExecutorFailsAResponseConfClosedBriefly() throws Exception {
        Executor full = task -> {
            throw new RejectedExecutionException("full");
        };
        EmbeddedChannel ch = channel(compiler, full, Duration.ofSeconds(5));
        ch.writeInbound(prepare(POST_RESP, "any", "{}"));
        long token = reply(ch).token();
        ch.writeInbound(responseCall(30, token));
        answerRequestId(ch, "rid-30");
        assertSafe503(reply(ch), 30);
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        ch.writeInbound(responseCall(31, token));
        assertThat(reply(ch).errorCode()).isEqualTo(io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND);
        ch.writeInbound(prepare(PRE, "any", "{}"));
        assertThat(reply(ch).errorCode()).as("request phase: RPC_ERROR, APISIX answers 503 before the upstream")
                .isEqualTo(io.github.api7.A6.Err.Code.SERVICE_UNAVAILABLE);
        assertThat(scrape()).contains("pam_runner_conf_refused_total{phase=\"response\",reason=\"overloaded\"} 1")
                .contains("pam_runner_conf_refused_total{phase=\"request\",reason=\"overloaded\"} 1");
        ch.finishAndReleaseAll();
    }

    /**
     * Review finding (issue 10 item 4): shutdown cut calls short but not a PrepareConf still being
     * prepared (plugins loading, a slow create): after the 200 ms answer grace its connection was
     * closed unanswered, and for a post-resp key APISIX then sends the original, unmasked upstream
     * body (P11). A PrepareConf in flight when calls are cut short, or arriving after, is refused as
     * any other (request: RPC_ERROR; response: a fail-closed token).
     */
    @Test
    void aPrepareConfInFlightWhenShutdownCutsCallsShortIsAnsweredAtOnce() throws Exception {
        CompletableFuture<ConfCompiler> loading = new CompletableFuture<>(); // plugins never finish loading
        EmbeddedChannel ch = channel(loading, pool, Duration.ofSeconds(30));
        ch.writeInbound(prepare(POST_RESP, "any", "{}"));
        ch.runPendingTasks();
        assertThat((Object) ch.readOutbound()).as("still preparing").isNull();

        dispatcher.cutShort();
        long token = reply(ch).token();
        ch.writeInbound(responseCall(7, token));
        answerRequestId(ch, "req-7");
        assertSafe503(reply(ch), 7);

        ch.writeInbound(prepare(PRE, "any", "{}")); // arriving after the cut: refused at once
        assertThat(reply(ch).errorCode()).isNotZero();
        ch.finishAndReleaseAll();
    }
}
