package io.inferencepam.bench.runner;

import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.protocol.A6Decoder;
import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.protocol.RpcType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The per-call decode of an {@code HTTP_REQ_CALL} frame (the load driver's frame: POST, path, one
 * arg, nine headers, IPv4 source) from a direct buffer, as the event loop does it for every call.
 * Run with {@code -prof gc}. Baseline in the same class: reading the same strings through the
 * generated FlatBuffers accessors ({@code name()}, {@code value()}, {@code path()}), which decode
 * UTF-8 char by char into a {@code char[]} before building each String.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3)
public class RequestDecodeBenchmark {
    private ByteBuf payload;

    @Setup
    public void setUp() {
        byte[] frame = ClientFrames.requestCall(7, 1, 4096);
        payload = Unpooled.directBuffer(frame.length - 4);
        payload.writeBytes(frame, 4, frame.length - 4);
    }

    @TearDown
    public void tearDown() {
        payload.release();
    }

    @Benchmark
    public Inbound runtimeDecode() throws Exception {
        return A6Decoder.decode(RpcType.HTTP_REQ_CALL, payload);
    }

    @Benchmark
    public void baselineFlatBuffersAccessors(Blackhole bh) {
        ByteBuffer bb = payload.nioBuffer().order(ByteOrder.LITTLE_ENDIAN);
        var req = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(bb);
        bh.consume(req.path());
        TextEntry e = new TextEntry();
        for (int i = 0; i < req.headersLength(); i++) {
            req.headers(e, i);
            bh.consume(e.name());
            bh.consume(e.value());
        }
        for (int i = 0; i < req.argsLength(); i++) {
            req.args(e, i);
            bh.consume(e.name());
            bh.consume(e.value());
        }
    }
}
