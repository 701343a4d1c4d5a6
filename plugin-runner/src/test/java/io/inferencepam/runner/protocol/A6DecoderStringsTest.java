package io.inferencepam.runner.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Header;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Header, arg and path strings are read straight from the frame buffer (heap or direct). */
class A6DecoderStringsTest {

    private static byte[] requestCall(byte[] path, byte[] headerValue) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int h1 = TextEntry.createTextEntry(b, b.createString("x-ascii"), b.createString("plain value"));
        int h2 = TextEntry.createTextEntry(b, b.createString("x-raw"), b.createString(ByteBuffer.wrap(headerValue)));
        int h3 = TextEntry.createTextEntry(b, b.createString("x-novalue"), 0);
        int headers = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, new int[] {h1, h2, h3});
        int arg = TextEntry.createTextEntry(b, b.createString("q"), b.createString("東京"));
        int args = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, new int[] {arg});
        int p = b.createString(ByteBuffer.wrap(path));
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, new byte[] {10, 0, 0, 7});
        io.github.api7.A6.HTTPReqCall.Req.startReq(b);
        io.github.api7.A6.HTTPReqCall.Req.addId(b, 5);
        io.github.api7.A6.HTTPReqCall.Req.addConfToken(b, 9);
        io.github.api7.A6.HTTPReqCall.Req.addSrcIp(b, ip);
        io.github.api7.A6.HTTPReqCall.Req.addPath(b, p);
        io.github.api7.A6.HTTPReqCall.Req.addArgs(b, args);
        io.github.api7.A6.HTTPReqCall.Req.addHeaders(b, headers);
        b.finish(io.github.api7.A6.HTTPReqCall.Req.endReq(b));
        return b.sizedByteArray();
    }

    private static Inbound.RequestCall decode(byte[] payload, boolean direct) throws MalformedFrameException {
        ByteBuf buf = direct ? Unpooled.directBuffer(payload.length) : Unpooled.buffer(payload.length);
        try {
            // Leading garbage: the payload sits at a non-zero offset, as in a slice of a cumulation buffer.
            buf.writeBytes(new byte[] {1, 2, 3}).writeBytes(payload);
            return (Inbound.RequestCall) A6Decoder.decode(RpcType.HTTP_REQ_CALL, buf.slice(3, payload.length));
        } finally {
            buf.release();
        }
    }

    @Test
    void asciiAndMultibyteStringsDecodeFromHeapAndDirectBuffers() throws Exception {
        byte[] value = "é 東京 🙂".getBytes(StandardCharsets.UTF_8);
        byte[] payload = requestCall("/v1/chat/東京".getBytes(StandardCharsets.UTF_8), value);
        for (boolean direct : new boolean[] {false, true}) {
            Inbound.RequestCall c = decode(payload, direct);
            assertThat(c.path()).isEqualTo("/v1/chat/東京");
            assertThat(c.headers().entries()).containsExactly(new Header("x-ascii", "plain value"),
                    new Header("x-raw", "é 東京 🙂"), new Header("x-novalue", null));
            assertThat(c.args().entries()).containsExactly(new Header("q", "東京"));
            assertThat(c.sourceIp()).isEqualTo("10.0.0.7");
            assertThat(c.id()).isEqualTo(5);
            assertThat(c.confToken()).isEqualTo(9);
        }
    }

    @Test
    void invalidUtf8InAStringIsAMalformedFrame() {
        byte[] payload = requestCall("/ok".getBytes(StandardCharsets.US_ASCII), new byte[] {'a', (byte) 0xff, 'b'});
        for (boolean direct : new boolean[] {false, true}) {
            assertThatThrownBy(() -> decode(payload, direct)).isInstanceOf(MalformedFrameException.class);
        }
    }

    @Test
    void aLongStringIsNotTruncatedByTheScratchBuffer() throws Exception {
        byte[] value = "v".repeat(10_000).getBytes(StandardCharsets.US_ASCII);
        Inbound.RequestCall c = decode(requestCall("/".getBytes(StandardCharsets.US_ASCII), value), true);
        assertThat(c.headers().first("x-raw")).contains("v".repeat(10_000));
    }
}
