package io.inferencepam.runner.protocol;

import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Header;
import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns frame payloads into {@link Inbound} values. FlatBuffers Java has no verifier, so every
 * offset is bounds-checked by the buffer itself: malformed input surfaces as a
 * {@link MalformedFrameException}, never as a crash or a half-decoded message.
 *
 * <p>PrepareConf and ExtraInfo are read straight from the frame's buffer. A call frame is copied
 * once into a {@code byte[]} and validated whole here, but its headers and args become Strings only
 * when a plugin reads them ({@link FrameEntries}): the frame's {@code ByteBuf} is still released
 * right after decoding, and nothing decoded refers to it.
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
                case RpcType.HTTP_REQ_CALL -> requestCall(copied(payload));
                case RpcType.HTTP_RESP_CALL -> responseCall(copied(payload));
                case RpcType.EXTRA_INFO -> extraInfo(bb);
                default -> throw new MalformedFrameException("unexpected frame type " + type);
            };
        } catch (RuntimeException e) {
            // IndexOutOfBounds, IllegalArgument, BufferUnderflow… from offsets pointing nowhere.
            throw new MalformedFrameException(RpcType.name(type) + ": malformed FlatBuffer (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The payload as a heap buffer over a copy from index 0: one bulk copy, after which the call's
     * lazy header and arg views need no reference count (they may outlive the frame, cross to
     * plugin threads, or never be read) and read from an array instead of native memory.
     */
    private static ByteBuffer copied(ByteBuf payload) {
        byte[] copy = new byte[payload.readableBytes()];
        payload.getBytes(payload.readerIndex(), copy);
        return ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
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
                FrameEntries.read(s, e, req.argsLength(), i -> req.args(e, i)),
                FrameEntries.read(s, e, headerEntries, i -> req.headers(e, i)),
                ipText(ip == null ? new byte[0] : ip), headerEntries, ip == null ? 0 : ip.length);
    }

    private static Inbound responseCall(ByteBuffer bb) {
        var req = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb);
        FlatStrings s = new FlatStrings(bb, true);
        TextEntry e = new TextEntry();
        return new Inbound.ResponseCall(req.id(), req.confToken(), req.status(),
                FrameEntries.read(s, e, req.headersLength(), i -> req.headers(e, i)));
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

    /**
     * A vector length comes from the wire: never size an allocation by it. Each entry takes at
     * least 4 bytes of the frame, so a larger count is a lie the accessors will catch.
     */
    static int capacity(int declared, ByteBuffer frame) {
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
