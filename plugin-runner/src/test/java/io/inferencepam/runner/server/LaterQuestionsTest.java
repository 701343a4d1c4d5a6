package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.flatbuffers.FlatBufferBuilder;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.FrameEncoder;
import io.inferencepam.runner.protocol.RpcType;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.Stop;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.HashedWheelTimer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Questions a plugin asks while its call runs ({@code CallContext.fetch}): sent only while the
 * call is unanswered, answers still due after a deadline reply are read and dropped (not a
 * protocol error), and the connection then serves the next call.
 */
class LaterQuestionsTest {
    private final HashedWheelTimer timer = new HashedWheelTimer(10, java.util.concurrent.TimeUnit.MILLISECONDS);
    private final PluginPool pool = new PluginPool("pool", 2, 1000, timer);
    private final ConfStore confs = new ConfStore(Duration.ofMinutes(5), 100);
    private final RunnerMetrics metrics = new RunnerMetrics(new PrometheusMetrics());

    @AfterEach
    void stop() {
        pool.shutdownNow();
        timer.stop();
    }

    /** Asks {@code later} (and the body) when it runs; answers Stop 200 with what it got. */
    static final class AsksLater implements Plugin {
        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            return context.fetch(request, Requirements.vars("later").withRequestBody()).thenApply(r -> new RequestDecision.Halt(
                    new Stop(200, Headers.empty(), Body.utf8(r.var("later").orElse("-") + "|" + r.body().orElseThrow().length()))));
        }
    }

    private EmbeddedChannel channel(Duration deadline) {
        CallDispatcher dispatcher = new CallDispatcher(pool, pool, timer, new ExchangeStore(Duration.ofMinutes(1), 100), deadline, metrics);
        confs.put(PreparedConf.of(new ConfIdentity("route#r#ext-plugin-pre-req#1", "r", "ext-plugin-pre-req", "h", 5),
                List.of("asks-later"), List.of(new AsksLater())));
        return new EmbeddedChannel(new FrameEncoder(), new FrameDecoder(1 << 20, 10_000),
                new RpcSession(CompletableFuture.completedFuture(null), confs, dispatcher, pool, pool, metrics, Duration.ofSeconds(5)));
    }

    private static ByteBuf requestCall(long id) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int path = b.createString("/");
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, new byte[] {127, 0, 0, 1});
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, id, ip, 0, path, 0, 0, 5));
        byte[] payload = b.sizedByteArray();
        return Unpooled.buffer().writeByte(RpcType.HTTP_REQ_CALL).writeMedium(payload.length).writeBytes(payload);
    }

    private static ByteBuf answer(String value) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int v = b.createByteVector(value.getBytes(StandardCharsets.UTF_8));
        b.finish(io.github.api7.A6.ExtraInfo.Resp.createResp(b, v));
        byte[] payload = b.sizedByteArray();
        return Unpooled.buffer().writeByte(RpcType.EXTRA_INFO).writeMedium(payload.length).writeBytes(payload);
    }

    private static ByteBuf awaitOutbound(EmbeddedChannel ch) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            ch.runPendingTasks();
            ByteBuf out = ch.readOutbound();
            if (out != null) {
                return out;
            }
            Thread.sleep(2);
        }
        throw new AssertionError("nothing written");
    }

    private static String stopBody(ByteBuf frame) {
        assertThat(frame.getByte(0)).isEqualTo(RpcType.HTTP_REQ_CALL);
        byte[] payload = new byte[frame.readableBytes() - 4];
        frame.getBytes(4, payload);
        frame.release();
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
        var stop = (io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop());
        byte[] body = new byte[stop.bodyLength()];
        stop.bodyAsByteBuffer().get(body);
        return stop.status() + " " + new String(body, StandardCharsets.UTF_8);
    }

    @Test
    void laterQuestionsGoOutWhileThePluginRunsAndTheirAnswersReachIt() throws Exception {
        EmbeddedChannel ch = channel(Duration.ofSeconds(5));
        ch.writeInbound(requestCall(1));
        ByteBuf q1 = awaitOutbound(ch);
        ByteBuf q2 = awaitOutbound(ch);
        assertThat(q1.getByte(0)).isEqualTo(RpcType.EXTRA_INFO);
        assertThat(q2.getByte(0)).isEqualTo(RpcType.EXTRA_INFO);
        q1.release();
        q2.release();
        ch.writeInbound(answer("v1"));
        ch.writeInbound(answer("body!"));
        assertThat(stopBody(awaitOutbound(ch))).isEqualTo("200 v1|5");
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void answersDueAfterADeadlineReplyAreDroppedAndTheConnectionServesTheNextCall() throws Exception {
        EmbeddedChannel ch = channel(Duration.ofMillis(200));
        ch.writeInbound(requestCall(1));
        awaitOutbound(ch).release();
        awaitOutbound(ch).release();
        // unanswered: the deadline answers the call (Stop 503) while two answers are still due
        assertThat(stopBody(awaitOutbound(ch))).startsWith("503 ");
        ch.writeInbound(answer("late"));
        ch.writeInbound(answer("late body"));
        assertThat(ch.isOpen()).as("late answers are not a protocol error").isTrue();
        ch.writeInbound(requestCall(2));
        awaitOutbound(ch).release();
        awaitOutbound(ch).release();
        ch.writeInbound(answer("v2"));
        ch.writeInbound(answer("b2"));
        assertThat(stopBody(awaitOutbound(ch))).isEqualTo("200 v2|2");
        ch.finishAndReleaseAll();
    }

    @Test
    void aNewCallWhileAnswersAreDueIsAProtocolError() throws Exception {
        EmbeddedChannel ch = channel(Duration.ofMillis(200));
        ch.writeInbound(requestCall(1));
        awaitOutbound(ch).release();
        awaitOutbound(ch).release();
        assertThat(stopBody(awaitOutbound(ch))).startsWith("503 ");
        ch.writeInbound(requestCall(2)); // APISIX never does this: it answers every question before it reads the reply
        ByteBuf err = awaitOutbound(ch);
        assertThat(err.getByte(0)).isEqualTo(RpcType.ERROR);
        err.release();
        ch.runPendingTasks();
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    /**
     * A response call whose plugin asked a later question, answered with a broken frame: still the
     * safe 503 response, never RPC_ERROR (APISIX would send the original, unmasked body, P6).
     */
    @Test
    void aBrokenLaterAnswerInTheResponsePhaseGetsTheSafeError() throws Exception {
        Plugin asksInResponse = new Plugin() {
            @Override
            public CompletionStage<io.inferencepam.runner.spi.ResponseChange> onResponse(io.inferencepam.runner.spi.HttpResponse response,
                                                                                     CallContext context) {
                return context.extraInfo().fetch(java.util.Set.of("later"), false)
                        .thenApply(a -> io.inferencepam.runner.spi.ResponseChange.replace(200, "text/plain", Body.utf8("ok")));
            }
        };
        CallDispatcher dispatcher = new CallDispatcher(pool, pool, timer, new ExchangeStore(Duration.ofMinutes(1), 100),
                Duration.ofSeconds(5), metrics);
        confs.put(PreparedConf.of(new ConfIdentity("route#r#ext-plugin-post-resp#1", "r", "ext-plugin-post-resp", "h", 6),
                List.of("asks-in-response"), List.of(asksInResponse)));
        EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder(), new FrameDecoder(1 << 20, 10_000),
                new RpcSession(CompletableFuture.completedFuture(null), confs, dispatcher, pool, pool, metrics, Duration.ofSeconds(5)));
        FlatBufferBuilder b = new FlatBufferBuilder();
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, 77, 200, 0, 6));
        byte[] call = b.sizedByteArray();
        ch.writeInbound(Unpooled.buffer().writeByte(RpcType.HTTP_RESP_CALL).writeMedium(call.length).writeBytes(call));
        ByteBuf q = awaitOutbound(ch);
        assertThat(q.getByte(0)).isEqualTo(RpcType.EXTRA_INFO);
        q.release();
        ch.writeInbound(Unpooled.buffer().writeByte(RpcType.EXTRA_INFO).writeMedium(3).writeBytes(new byte[] {1, 2, 3}));
        ByteBuf reply = awaitOutbound(ch);
        assertThat(reply.getByte(0)).as("never RPC_ERROR in the response phase").isEqualTo(RpcType.HTTP_RESP_CALL);
        byte[] payload = new byte[reply.readableBytes() - 4];
        reply.getBytes(4, payload);
        reply.release();
        var resp = io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
        assertThat(resp.id()).isEqualTo(77);
        assertThat(resp.status()).isEqualTo(503);
        ch.finishAndReleaseAll();
    }
}
