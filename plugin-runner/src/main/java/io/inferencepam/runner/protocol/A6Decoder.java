package io.inferencepam.runner.protocol;

import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * Turns frame payloads into {@link Inbound} values. FlatBuffers Java has no verifier, so every
 * offset is bounds-checked by the buffer itself: malformed input surfaces as a
 * {@link MalformedFrameException}, never as a crash or a half-decoded message.
 *
 * <p>Reads straight from the frame's buffer (no intermediate copy); only bodies and strings are
 * copied out, once.
 */
public final class A6Decoder {
    private static final String[] METHODS = io.github.api7.A6.Method.names;

    private A6Decoder() {
    }

    public static Inbound decode(byte type, ByteBuf payload) throws MalformedFrameException {
        ByteBuffer bb = payload.nioBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (bb.remaining() < 4) {
            throw new MalformedFrameException(RpcType.name(type) + ": payload too short");
        }
        try {
            return switch (type) {
                case RpcType.PREPARE_CONF -> prepareConf(bb);
                case RpcType.HTTP_REQ_CALL -> requestCall(bb);
                case RpcType.HTTP_RESP_CALL -> responseCall(bb);
                case RpcType.EXTRA_INFO -> extraInfo(bb);
                default -> throw new MalformedFrameException("unexpected frame type " + type);
            };
        } catch (RuntimeException e) {
            // IndexOutOfBounds, IllegalArgument, BufferUnderflow… from offsets pointing nowhere.
            throw new MalformedFrameException(RpcType.name(type) + ": malformed FlatBuffer (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static Inbound prepareConf(ByteBuffer bb) throws MalformedFrameException {
        var req = io.github.api7.A6.PrepareConf.Req.getRootAsReq(bb);
        List<Header> conf = new ArrayList<>(capacity(req.confLength(), bb));
        for (int i = 0; i < req.confLength(); i++) {
            TextEntry e = req.conf(i);
            if (e == null || e.name() == null) {
                throw new MalformedFrameException("RPC_PREPARE_CONF: conf entry " + i + " has no name");
            }
            conf.add(new Header(e.name(), e.value() == null ? "" : e.value()));
        }
        return new Inbound.PrepareConf(req.key() == null ? "" : req.key(), conf);
    }

    private static Inbound requestCall(ByteBuffer bb) {
        var req = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(bb);
        FlatStrings s = new FlatStrings(bb, false);
        int method = req.method();
        String methodName = method >= 0 && method < METHODS.length ? METHODS[method] : "UNKNOWN";
        byte[] ip = s.bytes(req.srcIpInByteBuffer(s.view()));
        String path = s.string(req.pathInByteBuffer(s.view()));
        TextEntry e = new TextEntry();
        int headerEntries = req.headersLength();
        return new Inbound.RequestCall(req.id(), req.confToken(), methodName,
                path == null ? "/" : path,
                entries(s, e, req.argsLength(), i -> req.args(e, i)),
                entries(s, e, headerEntries, i -> req.headers(e, i)),
                ipText(ip == null ? new byte[0] : ip), headerEntries, ip == null ? 0 : ip.length);
    }

    private static Inbound responseCall(ByteBuffer bb) {
        var req = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb);
        FlatStrings s = new FlatStrings(bb, true);
        TextEntry e = new TextEntry();
        return new Inbound.ResponseCall(req.id(), req.confToken(), req.status(),
                entries(s, e, req.headersLength(), i -> req.headers(e, i)));
    }

    private static Inbound extraInfo(ByteBuffer bb) {
        var resp = io.github.api7.A6.ExtraInfo.Resp.getRootAsResp(bb);
        if (!rootHasField(bb, 0)) {
            return new Inbound.ExtraInfoAnswer(Optional.empty());
        }
        ByteBuffer v = resp.resultAsByteBuffer();
        byte[] out = new byte[v == null ? 0 : v.remaining()];
        if (v != null) {
            v.get(out);
        }
        return new Inbound.ExtraInfoAnswer(Optional.of(out));
    }

    /** Whether the root table has field {@code index}: FlatBuffers' accessors cannot tell absent from empty. */
    static boolean rootHasField(ByteBuffer bb, int index) {
        int table = bb.position() + bb.getInt(bb.position());
        int vtable = table - bb.getInt(table);
        int vtableSize = Short.toUnsignedInt(bb.getShort(vtable));
        int slot = 4 + 2 * index;
        return slot < vtableSize && bb.getShort(vtable + slot) != 0;
    }

    /** {@code at} positions the reused {@code e} on entry i (no TextEntry object per entry). */
    private static Headers entries(FlatStrings s, TextEntry e, int n, IntFunction<TextEntry> at) {
        if (n == 0) {
            return Headers.empty();
        }
        List<Header> out = new ArrayList<>(capacity(n, s.view()));
        for (int i = 0; i < n; i++) {
            at.apply(i);
            String name = s.string(e.nameInByteBuffer(s.view()));
            if (name != null) {
                out.add(new Header(name, s.string(e.valueInByteBuffer(s.view()))));
            }
        }
        return Headers.of(out);
    }

    /**
     * A vector length comes from the wire: never size an allocation by it. Each entry takes at
     * least 4 bytes of the frame, so a larger count is a lie the accessors will catch.
     */
    private static int capacity(int declared, ByteBuffer frame) {
        return Math.max(0, Math.min(declared, frame.capacity() / 4));
    }

    /** The id of a response call whose frame failed to decode, if it can still be read. */
    public static java.util.OptionalLong responseCallId(io.netty.buffer.ByteBuf payload) {
        try {
            ByteBuffer bb = payload.nioBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return java.util.OptionalLong.of(io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb).id());
        } catch (RuntimeException e) {
            return java.util.OptionalLong.empty();
        }
    }

    static String ipText(byte[] ip) {
        if (ip.length != 4 && ip.length != 16) {
            return "";
        }
        try {
            return InetAddress.getByAddress(ip).getHostAddress();
        } catch (UnknownHostException e) {
            return "";
        }
    }
}
