package io.inferencepam.runner.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

/**
 * A call frame's headers and args are validated at decode time but become Strings only when read
 * ({@link FrameEntries}). These properties hold the lazy decoder to the eager one it replaced
 * ({@link Eager}: the decoder of main at 6d8acfb, kept here as the oracle): on random and fuzzed
 * frames, either both refuse the frame at decode time with the same error, or both accept it and
 * every value is the same — header and arg names and values, nameless entries left out, absent
 * values null, duplicates kept in order, case kept, counts equal before anything is read.
 */
class LazyFrameDecodeProperties {

    /** The eager decode of main (6d8acfb) for the two call frames, verbatim but for its name. */
    static final class Eager {
        static Inbound decode(byte type, ByteBuf payload) throws MalformedFrameException {
            ByteBuffer bb = payload.nioBuffer().order(ByteOrder.LITTLE_ENDIAN);
            if (bb.remaining() < 4) {
                throw new MalformedFrameException(RpcType.name(type) + ": payload too short");
            }
            try {
                return type == RpcType.HTTP_REQ_CALL ? requestCall(bb) : responseCall(bb);
            } catch (RuntimeException e) {
                throw new MalformedFrameException(RpcType.name(type) + ": malformed FlatBuffer (" + e.getClass().getSimpleName() + ")");
            }
        }

        private static Inbound requestCall(ByteBuffer bb) {
            var req = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(bb);
            FlatStrings s = new FlatStrings(bb, false);
            int method = req.method();
            String[] methods = io.github.api7.A6.Method.names;
            String methodName = method >= 0 && method < methods.length ? methods[method] : "UNKNOWN";
            byte[] ip = s.bytes(req.srcIpInByteBuffer(s.view()));
            String path = s.string(req.pathInByteBuffer(s.view()));
            TextEntry e = new TextEntry();
            int headerEntries = req.headersLength();
            return new Inbound.RequestCall(req.id(), req.confToken(), methodName, path == null ? "/" : path,
                    entries(s, e, req.argsLength(), i -> req.args(e, i)),
                    entries(s, e, headerEntries, i -> req.headers(e, i)),
                    A6Decoder.ipText(ip == null ? new byte[0] : ip), headerEntries, ip == null ? 0 : ip.length);
        }

        private static Inbound responseCall(ByteBuffer bb) {
            var req = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb);
            FlatStrings s = new FlatStrings(bb, true);
            TextEntry e = new TextEntry();
            return new Inbound.ResponseCall(req.id(), req.confToken(), req.status(),
                    entries(s, e, req.headersLength(), i -> req.headers(e, i)));
        }

        private static Headers entries(FlatStrings s, TextEntry e, int n, IntFunction<TextEntry> at) {
            if (n == 0) {
                return Headers.empty();
            }
            List<Header> out = new ArrayList<>(A6Decoder.capacity(n, s.view()));
            for (int i = 0; i < n; i++) {
                at.apply(i);
                String name = s.string(e.nameInByteBuffer(s.view()));
                if (name != null) {
                    out.add(new Header(name, s.string(e.valueInByteBuffer(s.view()))));
                }
            }
            return Headers.of(out);
        }
    }

    /** One entry as built: name and value as raw bytes (may be invalid UTF-8), either may be absent. */
    record Entry(byte[] name, byte[] value) {
    }

    record Frame(boolean response, byte[] bytes) {
        @Override
        public String toString() {
            return (response ? "resp " : "req ") + Arrays.toString(bytes);
        }
    }

    @Property(tries = 3000)
    void lazyDecodeEqualsEagerDecode(@ForAll("frames") Frame frame, @ForAll boolean direct) {
        byte type = frame.response() ? RpcType.HTTP_RESP_CALL : RpcType.HTTP_REQ_CALL;
        Object eager = outcome(() -> Eager.decode(type, buffer(frame.bytes(), direct)));
        Object lazy = outcome(() -> A6Decoder.decode(type, buffer(frame.bytes(), direct)));
        Statistics.collect(frame.response() ? "response" : "request", eager instanceof String ? "refused" : "accepted");
        if (eager instanceof String refused) {
            assertThat(lazy).as("refused at decode time with the same error").isEqualTo(refused);
            return;
        }
        assertThat(lazy).isInstanceOf(Inbound.class);
        if (eager instanceof Inbound.RequestCall e) {
            Inbound.RequestCall l = (Inbound.RequestCall) lazy;
            // counts before anything is read (FrameVars decides completeness from them)
            assertThat(l.headers().size()).isEqualTo(e.headers().size());
            assertThat(l.args().size()).isEqualTo(e.args().size());
            assertThat(l.headers().isEmpty()).isEqualTo(e.headers().isEmpty());
            assertThat(l.headers().entries()).containsExactlyElementsOf(e.headers().entries());
            assertThat(l.args().entries()).containsExactlyElementsOf(e.args().entries());
            assertThat(l).isEqualTo(e);
        } else {
            Inbound.ResponseCall e = (Inbound.ResponseCall) eager;
            Inbound.ResponseCall l = (Inbound.ResponseCall) lazy;
            assertThat(l.headers().size()).isEqualTo(e.headers().size());
            assertThat(l.headers().entries()).containsExactlyElementsOf(e.headers().entries());
            assertThat(l).isEqualTo(e);
        }
    }

    /** Lookups (case-insensitive, duplicates in order) read the lazy view as they read the eager one. */
    @Property(tries = 500)
    void lookupsAgree(@ForAll("validRequests") Frame frame, @ForAll("names") String asked) {
        Object eager = outcome(() -> Eager.decode(RpcType.HTTP_REQ_CALL, Unpooled.wrappedBuffer(frame.bytes())));
        Assume.that(eager instanceof Inbound.RequestCall); // a value of random bytes may be invalid UTF-8
        var e = (Inbound.RequestCall) eager;
        var l = (Inbound.RequestCall) outcome(() -> A6Decoder.decode(RpcType.HTTP_REQ_CALL, Unpooled.wrappedBuffer(frame.bytes())));
        assertThat(l.headers().first(asked)).isEqualTo(e.headers().first(asked));
        assertThat(l.headers().all(asked)).isEqualTo(e.headers().all(asked));
        assertThat(l.headers().contains(asked)).isEqualTo(e.headers().contains(asked));
        assertThat(l.headers().without(asked)).isEqualTo(e.headers().without(asked));
        assertThat(l.args().all(asked)).isEqualTo(e.args().all(asked));
        assertThat(l.headers().toString()).isEqualTo(e.headers().toString());
    }

    /**
     * Ownership: the lazy view never reads the frame's buffer. The frame's pooled buffer is released
     * and its memory handed out again and overwritten before the headers are first read.
     */
    @Test
    void headersReadAfterTheFrameBufferIsReusedAreIntact() throws Exception {
        byte[] frame = request(List.of(new Entry(b("authorization"), b("Bearer abc.def")), new Entry(b("x-model"), b("llama"))),
                List.of(new Entry(b("q"), b("1"))), b("/v1/chat"), new byte[] {10, 0, 0, 7});
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
        ByteBuf buf = alloc.directBuffer(frame.length);
        buf.writeBytes(frame);
        var call = (Inbound.RequestCall) A6Decoder.decode(RpcType.HTTP_REQ_CALL, buf);
        buf.release();
        List<ByteBuf> reused = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ByteBuf r = alloc.directBuffer(frame.length);
            while (r.writableBytes() > 0) {
                r.writeByte('!');
            }
            reused.add(r);
        }
        assertThat(call.headers().entries()).containsExactly(new Header("authorization", "Bearer abc.def"),
                new Header("x-model", "llama"));
        assertThat(call.args().entries()).containsExactly(new Header("q", "1"));
        reused.forEach(ByteBuf::release);
    }

    @Provide
    Arbitrary<Frame> frames() {
        return Arbitraries.oneOf(validRequests(), validResponses(), fuzzed(validRequests()), fuzzed(validResponses()));
    }

    @Provide
    Arbitrary<Frame> validRequests() {
        Arbitrary<List<Entry>> entries = entry().list().ofMaxSize(12);
        Arbitrary<byte[]> ip = Arbitraries.oneOf(Arbitraries.just(new byte[0]), bytes(4, 4), bytes(16, 16), bytes(0, 20));
        return Combinators.combine(entries, entries, text(), ip)
                .as((headers, args, path, src) -> new Frame(false, request(headers, args, path, src)));
    }

    @Provide
    Arbitrary<Frame> validResponses() {
        return entry().list().ofMaxSize(12).map(headers -> new Frame(true, response(headers)));
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.of("x-multi", "X-MULTI", "authorization", "x-model", "é", "", "a");
    }

    /** Byte flips (offsets, lengths, UTF-8) and truncations of a valid frame. */
    private static Arbitrary<Frame> fuzzed(Arbitrary<Frame> valid) {
        return Combinators.combine(valid, Arbitraries.integers().between(0, Integer.MAX_VALUE).list().ofMinSize(1).ofMaxSize(4),
                Arbitraries.bytes(), Arbitraries.integers().between(0, 3)).as((f, where, with, how) -> {
                    byte[] b = f.bytes().clone();
                    if (how == 0 && b.length > 4) {
                        return new Frame(f.response(), Arrays.copyOf(b, 4 + where.get(0) % (b.length - 4)));
                    }
                    for (int w : where) {
                        b[w % b.length] = how == 1 ? (byte) (b[w % b.length] ^ 0x80) : with;
                    }
                    return new Frame(f.response(), b);
                });
    }

    private static Arbitrary<Entry> entry() {
        Arbitrary<byte[]> name = Arbitraries.oneOf(text(), text(), text(), Arbitraries.just((byte[]) null));
        Arbitrary<byte[]> value = Arbitraries.oneOf(text(), text(), text(), Arbitraries.just((byte[]) null), bytes(0, 40));
        Arbitrary<byte[]> dup = Arbitraries.of(b("x-multi"), b("X-Multi"), b("authorization"));
        return Combinators.combine(Arbitraries.oneOf(name, dup), value).as(Entry::new);
    }

    /** Mostly ASCII, sometimes any Unicode (multi-byte UTF-8), sometimes long (the 8-byte ASCII scan). */
    private static Arbitrary<byte[]> text() {
        return Arbitraries.oneOf(Arbitraries.strings().ascii().ofMaxLength(30), Arbitraries.strings().ofMaxLength(20),
                        Arbitraries.strings().withCharRange('a', 'z').ofMinLength(60).ofMaxLength(800))
                .map(s -> s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static Arbitrary<byte[]> bytes(int min, int max) {
        return Arbitraries.bytes().array(byte[].class).ofMinSize(min).ofMaxSize(max);
    }

    static byte[] request(List<Entry> headers, List<Entry> args, byte[] path, byte[] ip) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int h = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, offsets(b, headers));
        int a = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, offsets(b, args));
        int p = b.createString(ByteBuffer.wrap(path));
        int src = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, ip);
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, 7, src, 2, p, a, h, 42));
        return b.sizedByteArray();
    }

    static byte[] response(List<Entry> headers) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int h = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, offsets(b, headers));
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, 9, 200, h, 43));
        return b.sizedByteArray();
    }

    private static int[] offsets(FlatBufferBuilder b, List<Entry> entries) {
        int[] out = new int[entries.size()];
        for (int i = 0; i < out.length; i++) {
            Entry e = entries.get(i);
            int n = e.name() == null ? 0 : b.createString(ByteBuffer.wrap(e.name()));
            int v = e.value() == null ? 0 : b.createString(ByteBuffer.wrap(e.value()));
            out[i] = TextEntry.createTextEntry(b, n, v);
        }
        return out;
    }

    private static ByteBuf buffer(byte[] bytes, boolean direct) {
        ByteBuf buf = direct ? Unpooled.directBuffer(bytes.length + 3) : Unpooled.buffer(bytes.length + 3);
        buf.writeBytes(new byte[] {1, 2, 3}).writeBytes(bytes); // a slice at a non-zero offset, as in a cumulation
        return buf.slice(3, bytes.length);
    }

    /** The decoded message with its headers and args read, or the refusal's message. */
    private static Object outcome(Decode d) {
        try {
            Inbound in = d.run();
            if (in instanceof Inbound.RequestCall c) {
                c.headers().entries();
                c.args().entries();
            } else if (in instanceof Inbound.ResponseCall c) {
                c.headers().entries();
            }
            return in;
        } catch (MalformedFrameException e) {
            return e.getMessage();
        }
    }

    @FunctionalInterface
    private interface Decode {
        Inbound run() throws MalformedFrameException;
    }

    private static byte[] b(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
