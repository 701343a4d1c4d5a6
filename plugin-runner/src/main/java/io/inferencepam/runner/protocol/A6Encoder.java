package io.inferencepam.runner.protocol;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Stop;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds runner→APISIX frames. Every frame built here fits the protocol's 3-byte length: a reply
 * that would not throws {@link FrameTooLargeException} while it is built (before it reaches the
 * event loop), so the caller can still answer with a small, safe reply.
 */
public final class A6Encoder {
    /** Field count of HTTPReqCall.Rewrite in ext-plugin-proto ≥ v0.6.1 (path, headers, args, resp_headers, body). */
    private static final int REWRITE_FIELDS = 5;

    private A6Encoder() {
    }

    public static OutboundFrame error(ErrorCode code) {
        FlatBufferBuilder b = new FlatBufferBuilder(32);
        b.finish(io.github.api7.A6.Err.Resp.createResp(b, code.wire()));
        return frame(RpcType.ERROR, b);
    }

    public static OutboundFrame prepareConf(long token) {
        FlatBufferBuilder b = new FlatBufferBuilder(32);
        b.finish(io.github.api7.A6.PrepareConf.Resp.createResp(b, token));
        return frame(RpcType.PREPARE_CONF, b);
    }

    public static OutboundFrame varQuestion(String name) {
        // sized for the whole question up front: the builder's default 64 bytes grew (a copy) on every question
        FlatBufferBuilder b = new FlatBufferBuilder(96 + 3 * name.length());
        int n = b.createString(name);
        int v = io.github.api7.A6.ExtraInfo.Var.createVar(b, n);
        b.finish(io.github.api7.A6.ExtraInfo.Req.createReq(b, io.github.api7.A6.ExtraInfo.Info.Var, v));
        return frame(RpcType.EXTRA_INFO, b);
    }

    /** The two body questions never change: built once, each frame a fresh view of the same read-only bytes. */
    private static final java.nio.ByteBuffer REQUEST_BODY_QUESTION = bodyQuestion(io.github.api7.A6.ExtraInfo.Info.ReqBody);
    private static final java.nio.ByteBuffer RESPONSE_BODY_QUESTION = bodyQuestion(io.github.api7.A6.ExtraInfo.Info.RespBody);

    private static java.nio.ByteBuffer bodyQuestion(byte info) {
        FlatBufferBuilder b = new FlatBufferBuilder(64);
        // ReqBody and RespBody are both empty tables
        b.startTable(0);
        int body = b.endTable();
        b.finish(io.github.api7.A6.ExtraInfo.Req.createReq(b, info, body));
        java.nio.ByteBuffer bytes = b.dataBuffer();
        java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate(bytes.remaining());
        copy.put(bytes).flip();
        return copy.asReadOnlyBuffer();
    }

    public static OutboundFrame requestBodyQuestion() {
        return new OutboundFrame(RpcType.EXTRA_INFO, REQUEST_BODY_QUESTION.duplicate());
    }

    public static OutboundFrame responseBodyQuestion() {
        return new OutboundFrame(RpcType.EXTRA_INFO, RESPONSE_BODY_QUESTION.duplicate());
    }

    public static OutboundFrame requestNone(long id) {
        FlatBufferBuilder b = new FlatBufferBuilder(32);
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.createResp(b, id, io.github.api7.A6.HTTPReqCall.Action.NONE, 0));
        return frame(RpcType.HTTP_REQ_CALL, b);
    }

    public static OutboundFrame requestStop(long id, Stop stop) {
        requireRoomFor(stop.body().length());
        FlatBufferBuilder b = new FlatBufferBuilder(256 + stop.body().length());
        int headers = entries(b, stop.headers().entries());
        int body = stop.body().isEmpty() ? 0 : byteVector(b, stop.body());
        int action = io.github.api7.A6.HTTPReqCall.Stop.createStop(b, stop.status(), headers, body);
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.createResp(b, id, io.github.api7.A6.HTTPReqCall.Action.Stop, action));
        return frame(RpcType.HTTP_REQ_CALL, b);
    }

    /**
     * A Rewrite action. Built field by field because the published A6 classes lack {@code body}
     * (field 4, added in ext-plugin-proto v0.6.1 and read by APISIX ≥ 3.6).
     */
    public static OutboundFrame requestRewrite(long id, RequestRewrite rw, Headers extraHeaders) {
        requireRoomFor(rw.body().map(Body::length).orElse(0));
        FlatBufferBuilder b = new FlatBufferBuilder(256 + rw.body().map(Body::length).orElse(0));
        int path = rw.path().map(b::createString).orElse(0);
        int headers = rw.headers().isEmpty() && extraHeaders.isEmpty() ? 0 : headerChanges(b, rw.headers(), extraHeaders);
        int args = rw.args().isEmpty() ? 0 : argChanges(b, rw.args());
        int respHeaders = rw.respHeaders().isEmpty() ? 0 : entries(b, rw.respHeaders().entries());
        int body = rw.body().map(v -> byteVector(b, v)).orElse(0);
        b.startTable(REWRITE_FIELDS);
        if (body != 0) {
            b.addOffset(4, body, 0);
        }
        if (respHeaders != 0) {
            b.addOffset(3, respHeaders, 0);
        }
        if (args != 0) {
            b.addOffset(2, args, 0);
        }
        if (headers != 0) {
            b.addOffset(1, headers, 0);
        }
        if (path != 0) {
            b.addOffset(0, path, 0);
        }
        int action = b.endTable();
        b.finish(io.github.api7.A6.HTTPReqCall.Resp.createResp(b, id, io.github.api7.A6.HTTPReqCall.Action.Rewrite, action));
        return frame(RpcType.HTTP_REQ_CALL, b);
    }

    public static OutboundFrame response(long id, int status, List<Header> headers, Optional<Body> body) {
        requireRoomFor(body.map(Body::length).orElse(0));
        FlatBufferBuilder b = new FlatBufferBuilder(256 + body.map(Body::length).orElse(0));
        int h = headers.isEmpty() ? 0 : entries(b, headers);
        int bv = body.map(v -> byteVector(b, v)).orElse(0);
        b.finish(io.github.api7.A6.HTTPRespCall.Resp.createResp(b, id, status, h, bv));
        return frame(RpcType.HTTP_RESP_CALL, b);
    }

    private static int headerChanges(FlatBufferBuilder b, Map<String, String> changes, Headers extra) {
        int[] offs = new int[changes.size() + extra.size()];
        int i = 0;
        for (var e : changes.entrySet()) {
            offs[i++] = entry(b, e.getKey(), e.getValue());
        }
        for (Header h : extra.entries()) {
            offs[i++] = entry(b, h.name(), h.value());
        }
        return b.createVectorOfTables(offs);
    }

    private static int argChanges(FlatBufferBuilder b, Map<String, List<String>> changes) {
        int count = 0;
        for (List<String> v : changes.values()) {
            count += Math.max(1, v.size());
        }
        int[] offs = new int[count];
        int i = 0;
        for (var e : changes.entrySet()) {
            if (e.getValue().isEmpty()) {
                offs[i++] = entry(b, e.getKey(), null);
            } else {
                for (String v : e.getValue()) {
                    offs[i++] = entry(b, e.getKey(), v);
                }
            }
        }
        return b.createVectorOfTables(offs);
    }

    private static int entries(FlatBufferBuilder b, List<Header> list) {
        int[] offs = new int[list.size()];
        for (int i = 0; i < offs.length; i++) {
            offs[i] = entry(b, list.get(i).name(), list.get(i).value());
        }
        return b.createVectorOfTables(offs);
    }

    /** A TextEntry; a null value leaves the field out, which APISIX reads as "delete". */
    private static int entry(FlatBufferBuilder b, String name, String value) {
        int n = b.createString(name);
        int v = value == null ? 0 : b.createString(value);
        return TextEntry.createTextEntry(b, n, v);
    }

    private static int byteVector(FlatBufferBuilder b, Body body) {
        return b.createByteVector(body.asReadOnlyBuffer());
    }

    /** Fails before building when the body alone is already too large (saves a second copy of it). */
    private static void requireRoomFor(int bodyBytes) {
        if (bodyBytes > RpcType.MAX_PAYLOAD) {
            throw new FrameTooLargeException(bodyBytes);
        }
    }

    /** The finished FlatBuffer as a frame, if it fits one: the exact check, tables and headers included. */
    private static OutboundFrame frame(byte type, FlatBufferBuilder b) {
        java.nio.ByteBuffer payload = b.dataBuffer();
        if (payload.remaining() > RpcType.MAX_PAYLOAD) {
            throw new FrameTooLargeException(payload.remaining());
        }
        return new OutboundFrame(type, payload);
    }
}
