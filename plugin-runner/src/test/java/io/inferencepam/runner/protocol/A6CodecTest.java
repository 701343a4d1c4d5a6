package io.inferencepam.runner.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Stop;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class A6CodecTest {

    @Test
    void decodesARequestCallWithIpv6AndRepeatedHeaders() throws Exception {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int path = b.createString("/v1/chat/completions");
        int h1 = TextEntry.createTextEntry(b, b.createString("x-multi"), b.createString("one"));
        int h2 = TextEntry.createTextEntry(b, b.createString("x-multi"), b.createString("two"));
        int headers = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, new int[] {h1, h2});
        int flag = TextEntry.createTextEntry(b, b.createString("flag"), 0);
        int args = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, new int[] {flag});
        byte[] ip = java.net.InetAddress.getByName("2001:db8::1").getAddress();
        int src = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, ip);
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, 7, src, 2, path, args, headers, 42));
        Inbound in = A6Decoder.decode(RpcType.HTTP_REQ_CALL, Unpooled.wrappedBuffer(b.sizedByteArray()));
        Inbound.RequestCall call = (Inbound.RequestCall) in;
        assertThat(call.id()).isEqualTo(7);
        assertThat(call.confToken()).isEqualTo(42);
        assertThat(call.method()).isEqualTo("POST");
        assertThat(call.sourceIp()).isEqualTo("2001:db8:0:0:0:0:0:1");
        assertThat(call.headers().all("X-Multi")).containsExactly("one", "two");
        assertThat(call.args().entries()).containsExactly(new Header("flag", null));
    }

    @Test
    void tellsAMissingVarFromAnEmptyOne() throws Exception {
        FlatBufferBuilder absent = new FlatBufferBuilder();
        io.github.api7.A6.ExtraInfo.Resp.startResp(absent);
        absent.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(absent));
        FlatBufferBuilder empty = new FlatBufferBuilder();
        int v = empty.createByteVector(new byte[0]);
        empty.finish(io.github.api7.A6.ExtraInfo.Resp.createResp(empty, v));
        var a = (Inbound.ExtraInfoAnswer) A6Decoder.decode(RpcType.EXTRA_INFO, Unpooled.wrappedBuffer(absent.sizedByteArray()));
        var e = (Inbound.ExtraInfoAnswer) A6Decoder.decode(RpcType.EXTRA_INFO, Unpooled.wrappedBuffer(empty.sizedByteArray()));
        assertThat(a.result()).isEmpty();
        assertThat(e.result()).hasValueSatisfying(bytes -> assertThat(bytes).isEmpty());
    }

    @Test
    void rewriteCarriesTheBodyFieldTheA6JarLacks() {
        byte[] body = "{\"x\":\"é 東京 🙂\"}".getBytes(StandardCharsets.UTF_8);
        RequestRewrite rw = RequestRewrite.builder().path("/new").setHeader("X-A", "1").removeHeader("authorization")
                .setArg("k", "v1", "v2").removeArg("drop").addResponseHeader("x-r", "r").body(Body.wrap(body)).build();
        OutboundFrame f = A6Encoder.requestRewrite(9, rw, io.inferencepam.runner.spi.Headers.of("content-length", "" + body.length));
        ByteBuffer bb = f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(bb);
        assertThat(resp.id()).isEqualTo(9);
        assertThat(resp.actionType()).isEqualTo(io.github.api7.A6.HTTPReqCall.Action.Rewrite);
        var rewrite = (io.github.api7.A6.HTTPReqCall.Rewrite) resp.action(new io.github.api7.A6.HTTPReqCall.Rewrite());
        assertThat(rewrite.path()).isEqualTo("/new");
        assertThat(rewrite.headersLength()).isEqualTo(3);
        assertThat(rewrite.headers(1).name()).isEqualTo("authorization");
        assertThat(rewrite.headers(1).value()).isNull(); // no value = delete
        assertThat(rewrite.headers(2).value()).isEqualTo(String.valueOf(body.length));
        assertThat(rewrite.argsLength()).isEqualTo(3);
        assertThat(rewrite.respHeadersLength()).isEqualTo(1);
        assertThat(readRewriteBody(rewrite)).isEqualTo(body);
    }

    /** Field 4 of Rewrite, read straight from the vtable as APISIX ≥ 3.6 does. */
    static byte[] readRewriteBody(com.google.flatbuffers.Table t) {
        ByteBuffer bb = t.getByteBuffer();
        int pos = tablePos(t);
        int vtable = pos - bb.getInt(pos);
        int vsize = Short.toUnsignedInt(bb.getShort(vtable));
        int slot = 4 + 2 * 4;
        if (slot >= vsize || bb.getShort(vtable + slot) == 0) {
            return null;
        }
        int field = pos + bb.getShort(vtable + slot);
        int vec = field + bb.getInt(field);
        int len = bb.getInt(vec);
        byte[] out = new byte[len];
        for (int i = 0; i < len; i++) {
            out[i] = bb.get(vec + 4 + i);
        }
        return out;
    }

    private static int tablePos(com.google.flatbuffers.Table t) {
        try {
            var f = com.google.flatbuffers.Table.class.getDeclaredField("bb_pos");
            f.setAccessible(true);
            return f.getInt(t);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void stopKeepsBinaryBodiesIntact() {
        byte[] binary = {0, (byte) 0xff, (byte) 0xfe, 10, 13, 0};
        OutboundFrame f = A6Encoder.requestStop(3, new Stop(403, io.inferencepam.runner.spi.Headers.of("x", "y"), Body.wrap(binary)));
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
        var stop = (io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(stop.status()).isEqualTo(403);
        byte[] got = new byte[stop.bodyLength()];
        stop.bodyAsByteBuffer().get(got);
        assertThat(got).isEqualTo(binary);
    }

    @Test
    void responseReplyRoundTrips() {
        OutboundFrame f = A6Encoder.response(5, 201, List.of(new Header("Content-Type", "application/json")),
                Optional.of(Body.utf8("{}")));
        var resp = io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
        assertThat(resp.id()).isEqualTo(5);
        assertThat(resp.status()).isEqualTo(201);
        assertThat(resp.headers(0).name()).isEqualTo("Content-Type");
        assertThat(resp.bodyLength()).isEqualTo(2);
    }

    @Test
    void aShortPayloadIsMalformed() {
        assertThatThrownBy(() -> A6Decoder.decode(RpcType.HTTP_REQ_CALL, Unpooled.wrappedBuffer(new byte[] {1, 2})))
                .isInstanceOf(MalformedFrameException.class);
    }

    /** Random payloads must decode or be rejected as malformed: never another exception type. */
    @Property(tries = 2000)
    void garbageIsRejectedCleanly(@ForAll byte[] payload, @ForAll("types") byte type) {
        try {
            A6Decoder.decode(type, Unpooled.wrappedBuffer(payload));
        } catch (MalformedFrameException expected) {
            // fine
        }
    }

    @Test
    void noReplyIsBuiltThatDoesNotFitOneFrame() {
        Body fits = Body.wrap(new byte[RpcType.MAX_PAYLOAD - 4096]);
        assertThat(A6Encoder.response(1, 200, List.of(), Optional.of(fits)).payload().remaining())
                .isBetween(RpcType.MAX_PAYLOAD - 4096, RpcType.MAX_PAYLOAD);
        // the body alone fits the 3-byte length, with the FlatBuffer around it it does not
        Body justFits = Body.wrap(new byte[RpcType.MAX_PAYLOAD]);
        assertThatThrownBy(() -> A6Encoder.response(1, 200, List.of(new Header("Content-Type", "text/plain")), Optional.of(justFits)))
                .isInstanceOf(FrameTooLargeException.class);
        assertThatThrownBy(() -> A6Encoder.requestRewrite(1, RequestRewrite.builder().body(justFits).build(),
                io.inferencepam.runner.spi.Headers.empty())).isInstanceOf(FrameTooLargeException.class);
        assertThatThrownBy(() -> A6Encoder.requestStop(1, new Stop(403, io.inferencepam.runner.spi.Headers.empty(),
                Body.wrap(new byte[RpcType.MAX_PAYLOAD + 1])))).isInstanceOf(FrameTooLargeException.class)
                .hasMessageNotContaining("xxxx");
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Byte> types() {
        return net.jqwik.api.Arbitraries.of((byte) 1, (byte) 2, (byte) 3, (byte) 4, (byte) 9);
    }
}
