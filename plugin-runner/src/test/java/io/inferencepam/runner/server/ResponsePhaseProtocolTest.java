package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.FrameEncoder;
import io.inferencepam.runner.protocol.RpcType;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.Requirements;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * In the response phase a protocol failure must still produce the safe 503 response: an RPC_ERROR
 * or a closed socket makes APISIX send the original, unmasked body (conformance P6, P10).
 */
class ResponsePhaseProtocolTest {
    private final HashedWheelTimer timer = new HashedWheelTimer();
    private final PluginPool pool = new PluginPool("pool", 2, 1000, timer);
    private final ConfStore confs = new ConfStore(Duration.ofMinutes(5), 100);
    private final RunnerMetrics metrics = new RunnerMetrics(new PrometheusMetrics());
    private final CallDispatcher dispatcher = new CallDispatcher(pool, pool, timer,
            new ExchangeStore(Duration.ofMinutes(1), 100), Duration.ofSeconds(5), metrics);

    @AfterEach
    void stop() {
        pool.shutdownNow();
        timer.stop();
    }

    private EmbeddedChannel channel(int maxFrame) {
        Plugin wantsBody = new Plugin() {
            @Override
            public Requirements requirements(Phase phase) {
                return Requirements.NONE.withResponseBody();
            }
        };
        confs.put(PreparedConf.of(new ConfIdentity("route#r#ext-plugin-post-resp#1", "r", "ext-plugin-post-resp", "h", 5),
                List.of("wants-body"), List.of(wantsBody)));
        return new EmbeddedChannel(new FrameEncoder(), new FrameDecoder(maxFrame, 10_000),
                new RpcSession(CompletableFuture.completedFuture(null), confs, dispatcher, pool, pool, metrics, Duration.ofSeconds(5)));
    }

    /** An HTTPRespCall whose one header value is raw (possibly invalid UTF-8) bytes. */
    private static ByteBuf responseCall(long id, byte[] headerValue) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int name = b.createString("X-Echo");
        int value = b.createString(ByteBuffer.wrap(headerValue));
        int h = TextEntry.createTextEntry(b, name, value);
        int headers = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, new int[] {h});
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, id, 200, headers, 5));
        byte[] payload = b.sizedByteArray();
        return Unpooled.buffer().writeByte(RpcType.HTTP_RESP_CALL).writeMedium(payload.length).writeBytes(payload);
    }

    private static ByteBuf answerFrame(byte[] body) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int v = b.createByteVector(body);
        b.finish(io.github.api7.A6.ExtraInfo.Resp.createResp(b, v));
        byte[] payload = b.sizedByteArray();
        return Unpooled.buffer().writeByte(RpcType.EXTRA_INFO).writeMedium(payload.length).writeBytes(payload);
    }

    private static ByteBuf awaitOutbound(EmbeddedChannel ch, byte wantedType) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            ch.runPendingTasks();
            ByteBuf out;
            while ((out = ch.readOutbound()) != null) {
                if (out.getByte(0) == wantedType) {
                    return out;
                }
                out.release();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no reply of type " + wantedType);
    }

    private static io.github.api7.A6.HTTPRespCall.Resp decode(ByteBuf frame) {
        byte[] payload = new byte[frame.readableBytes() - 4];
        frame.getBytes(4, payload);
        frame.release();
        return io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN));
    }

    @Test
    void anInvalidUtf8UpstreamHeaderIsDecodedLenientlyNotRefused() throws Exception {
        EmbeddedChannel ch = channel(1 << 20);
        ch.writeInbound(responseCall(41, new byte[] {'a', (byte) 0xff, 'b'}));
        ByteBuf question = awaitOutbound(ch, RpcType.EXTRA_INFO);
        question.release();
        ch.writeInbound(answerFrame("{\"ok\":true}".getBytes(StandardCharsets.UTF_8)));
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(41);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.headers(0).value()).isEqualTo("a\uFFFDb");
        ch.finishAndReleaseAll();
    }

    /**
     * Review finding (issue 10 item 3): a response reply whose write fails for another reason than
     * a closed connection (here the 16 MiB class of buffer the encoder allocates, refused by an
     * exhausted direct-memory budget under a burst of large responses) went to exceptionCaught,
     * which closed the connection: APISIX then sends the original, unmasked body. The small safe
     * error is written instead, then the connection closes.
     */
    @Test
    void aResponseReplyThatCannotBeWrittenGetsTheSafeErrorNotABareClose() throws Exception {
        EmbeddedChannel ch = channel(1 << 20);
        ch.config().setAllocator(new io.netty.buffer.AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct buffer memory");
                }
                return Unpooled.directBuffer(initialCapacity, maxCapacity);
            }

            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Java heap space");
                }
                return Unpooled.buffer(initialCapacity, maxCapacity);
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        });
        ch.writeInbound(responseCall(44, "ok".getBytes(StandardCharsets.UTF_8)));
        awaitOutbound(ch, RpcType.EXTRA_INFO).release();
        ch.writeInbound(answerFrame(("alice@example.com ".repeat(12_000)).getBytes(StandardCharsets.UTF_8)));
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(44);
        assertThat(reply.status()).isEqualTo(503);
        byte[] body = new byte[reply.bodyLength()];
        reply.bodyAsByteBuffer().get(body);
        assertThat(new String(body, StandardCharsets.UTF_8)).contains("gateway_response_policy_failed").doesNotContain("alice");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    /**
     * Review finding: any other failure while a response call waits for its body (here no memory to
     * gather a large answer arriving in pieces) closed the connection bare ("internal"), so APISIX
     * sent the original body; it gets the safe error like a malformed or truncated answer.
     */
    @Test
    void anInternalFailureWhileAResponseCallAwaitsItsBodyGetsTheSafeError() throws Exception {
        EmbeddedChannel ch = channel(1 << 20);
        ch.config().setAllocator(new io.netty.buffer.AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct buffer memory");
                }
                return Unpooled.directBuffer(initialCapacity, maxCapacity);
            }

            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Java heap space");
                }
                return Unpooled.buffer(initialCapacity, maxCapacity);
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        });
        ch.writeInbound(responseCall(45, "ok".getBytes(StandardCharsets.UTF_8)));
        awaitOutbound(ch, RpcType.EXTRA_INFO).release();
        ByteBuf answer = answerFrame(("alice@example.com ".repeat(8_000)).getBytes(StandardCharsets.UTF_8));
        int half = answer.readableBytes() / 2;
        ByteBuf first = answer.readRetainedSlice(half);
        ch.writeInbound(first);
        try {
            ch.writeInbound(answer); // gathering both halves needs a buffer the allocator refuses
        } catch (Throwable rethrown) {
            // EmbeddedChannel may rethrow what reached the pipeline's end
        }
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(45);
        assertThat(reply.status()).isEqualTo(503);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    /** The same write failure during shutdown: the drain must not close the connection before the safe error is out. */
    @Test
    void aReplyThatCannotBeWrittenDuringShutdownStillGetsTheSafeError() throws Exception {
        Plugin wantsBody = new Plugin() {
            @Override
            public Requirements requirements(Phase phase) {
                return Requirements.NONE.withResponseBody();
            }
        };
        confs.put(PreparedConf.of(new ConfIdentity("route#r#ext-plugin-post-resp#1", "r", "ext-plugin-post-resp", "h", 5),
                List.of("wants-body"), List.of(wantsBody)));
        ConnectionDrain drain = new ConnectionDrain(new java.util.concurrent.atomic.AtomicInteger());
        EmbeddedChannel ch = new EmbeddedChannel(new FrameEncoder(), new FrameDecoder(1 << 20, 10_000), drain,
                new RpcSession(CompletableFuture.completedFuture(null), confs, dispatcher, pool, pool, metrics, Duration.ofSeconds(5)));
        ch.config().setAllocator(new io.netty.buffer.AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct buffer memory");
                }
                return Unpooled.directBuffer(initialCapacity, maxCapacity);
            }

            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                if (initialCapacity > 64 * 1024) {
                    throw new OutOfMemoryError("Java heap space");
                }
                return Unpooled.buffer(initialCapacity, maxCapacity);
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        });
        ch.writeInbound(responseCall(46, "ok".getBytes(StandardCharsets.UTF_8)));
        awaitOutbound(ch, RpcType.EXTRA_INFO).release();
        drain.closeWhenIdle(); // SIGTERM: close once this call is answered
        ch.runPendingTasks();
        ch.writeInbound(answerFrame(("alice@example.com ".repeat(12_000)).getBytes(StandardCharsets.UTF_8)));
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(46);
        assertThat(reply.status()).isEqualTo(503);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void anOversizedResponseBodyAnswerGetsTheSafeErrorNotRpcError() throws Exception {
        EmbeddedChannel ch = channel(256);
        ch.writeInbound(responseCall(42, "ok".getBytes(StandardCharsets.UTF_8)));
        awaitOutbound(ch, RpcType.EXTRA_INFO).release();
        try {
            ch.writeInbound(answerFrame(("alice@example.com ".repeat(40)).getBytes(StandardCharsets.UTF_8)));
        } catch (Exception expected) {
            // the decoder's TooLongFrameException is also rethrown by EmbeddedChannel
        }
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(42);
        assertThat(reply.status()).isEqualTo(503);
        byte[] body = new byte[reply.bodyLength()];
        reply.bodyAsByteBuffer().get(body);
        assertThat(new String(body, StandardCharsets.UTF_8)).contains("gateway_response_policy_failed").doesNotContain("alice");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void aMalformedAnswerInTheResponsePhaseGetsTheSafeError() throws Exception {
        EmbeddedChannel ch = channel(1 << 20);
        ch.writeInbound(responseCall(43, "ok".getBytes(StandardCharsets.UTF_8)));
        awaitOutbound(ch, RpcType.EXTRA_INFO).release();
        // an ExtraInfo frame whose root offset points past its end
        ch.writeInbound(Unpooled.buffer().writeByte(RpcType.EXTRA_INFO).writeMedium(8)
                .writeIntLE(0x7fff0000).writeIntLE(0));
        var reply = decode(awaitOutbound(ch, RpcType.HTTP_RESP_CALL));
        assertThat(reply.id()).isEqualTo(43);
        assertThat(reply.status()).isEqualTo(503);
        ch.finishAndReleaseAll();
    }
}
