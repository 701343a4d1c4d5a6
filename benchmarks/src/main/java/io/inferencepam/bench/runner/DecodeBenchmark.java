package io.inferencepam.bench.runner;

import io.inferencepam.runner.protocol.A6Decoder;
import io.inferencepam.runner.protocol.Frame;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.protocol.RpcType;
import io.inferencepam.runner.spi.Body;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * G2 (docs/performance.md): heap bytes allocated to turn an ExtraInfo answer frame carrying a
 * request body into the {@link Body} a plugin sees must stay ≤ 2.5 × the body size. Run with
 * {@code -prof gc} and read {@code gc.alloc.rate.norm}.
 *
 * <p>The path is the runtime's own: the frame bytes arrive in pooled direct buffers (as Netty's
 * epoll transport reads them; {@code readSize} splits the frame into several socket reads, which
 * exercises the decoder's cumulation), {@link FrameDecoder} cuts the frame,
 * {@link A6Decoder} decodes the FlatBuffer, the body is wrapped as a {@link Body}, the frame is
 * released. Baseline in the same class: one plain {@code byte[]} copy of the body, the least any
 * decoder that hands plugins a heap array can allocate (1.0 × body).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class DecodeBenchmark {
    @Param({"65536"})
    int bodySize;

    /** Bytes per simulated socket read: the whole frame at once, or 16 KiB pieces. */
    @Param({"0", "16384"})
    int readSize;

    private byte[] frame;
    private byte[] body;
    private EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void setUp() {
        body = ClientFrames.chatBody(bodySize);
        frame = ClientFrames.bodyAnswer(body);
        channel = new EmbeddedChannel(new FrameDecoder(RpcType.MAX_PAYLOAD, 30_000));
        channel.config().setAllocator(PooledByteBufAllocator.DEFAULT);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.finishAndReleaseAll();
    }

    @Benchmark
    public Body runtimeDecodePath() throws Exception {
        int step = readSize == 0 ? frame.length : readSize;
        for (int off = 0; off < frame.length; off += step) {
            int n = Math.min(step, frame.length - off);
            // What the transport hands the pipeline: a pooled direct buffer per read (not heap).
            ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(n);
            read.writeBytes(frame, off, n);
            channel.writeInbound(read);
        }
        Frame f = channel.readInbound();
        try {
            Inbound.ExtraInfoAnswer answer = (Inbound.ExtraInfoAnswer) A6Decoder.decode(f.type(), f.payload());
            return Body.wrap(answer.result().orElseThrow());
        } finally {
            f.release();
        }
    }

    /** The floor: one heap copy of the body. */
    @Benchmark
    public byte[] baselineOneCopy() {
        return body.clone();
    }
}
