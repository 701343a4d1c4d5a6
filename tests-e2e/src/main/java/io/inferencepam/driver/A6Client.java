package io.inferencepam.driver;

import com.google.flatbuffers.FlatBufferBuilder;
import com.google.flatbuffers.Table;
import io.github.api7.A6.TextEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The APISIX side of the A6 FlatBuffers messages (api7/ext-plugin-proto {@code ext-plugin.fbs}):
 * builds what APISIX sends, decodes what a runner answers. Public so that conformance tests can
 * re-encode recorded APISIX frames and decode replies with the same code.
 *
 * <p>The published {@code io.github.api7:A6:0.6.0-RELEASE} lacks {@code Rewrite.body} (field 4,
 * proto v0.6.1, read by APISIX ≥ 3.6), so {@link #decodeRequestReply} reads it from the vtable
 * by hand.
 */
public final class A6Client {
    public static final int RPC_ERROR = 0;
    public static final int RPC_PREPARE_CONF = 1;
    public static final int RPC_HTTP_REQ_CALL = 2;
    public static final int RPC_EXTRA_INFO = 3;
    public static final int RPC_HTTP_RESP_CALL = 4;
    /** 2^24 − 1: APISIX refuses to frame more ("the max length of data is 16777215", conformance R16). */
    public static final int MAX_PAYLOAD = 0xFFFFFF;

    private A6Client() {
    }

    /** A TextEntry; {@code value} null = the field is absent (APISIX and runners read it as "delete"/"flag"). */
    public record Entry(String name, String value) {
    }

    public record Stop(int status, List<Entry> headers, Optional<byte[]> body) {
    }

    /** {@code path} and {@code body} empty when the field is absent. */
    public record Rewrite(Optional<String> path, List<Entry> headers, List<Entry> args, List<Entry> respHeaders,
                          Optional<byte[]> body) {
    }

    /** HTTPReqCall.Resp: action NONE (0), Stop (1) or Rewrite (2). */
    public record RequestReply(long id, int actionType, Stop stop, Rewrite rewrite) {
    }

    /** HTTPRespCall.Resp; {@code body} empty when absent or zero-length. */
    public record ResponseReply(long id, int status, List<Entry> headers, Optional<byte[]> body) {
    }

    /** ExtraInfo question: {@code kind} 1 = Var (with name), 2 = ReqBody, 3 = RespBody. */
    public record Question(int kind, String name) {
        public static final int VAR = 1;
        public static final int REQ_BODY = 2;
        public static final int RESP_BODY = 3;
    }

    // ---- APISIX → runner --------------------------------------------------------------------

    public static byte[] prepareConf(List<ConfEntry> conf, String key) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int[] entries = new int[conf.size()];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = entry(b, conf.get(i).name(), conf.get(i).value());
        }
        int confVec = io.github.api7.A6.PrepareConf.Req.createConfVector(b, entries);
        int keyOff = key == null ? 0 : b.createString(key);
        io.github.api7.A6.PrepareConf.Req.startReq(b);
        io.github.api7.A6.PrepareConf.Req.addConf(b, confVec);
        if (keyOff != 0) {
            io.github.api7.A6.PrepareConf.Req.addKey(b, keyOff);
        }
        b.finish(io.github.api7.A6.PrepareConf.Req.endReq(b));
        return b.sizedByteArray();
    }

    public static byte[] requestCall(long id, long confToken, byte[] srcIp, int method, String path,
                                     List<Entry> args, List<Entry> headers) {
        FlatBufferBuilder b = new FlatBufferBuilder(1024);
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, srcIp);
        int p = b.createString(path);
        int a = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, entries(b, args));
        int h = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, entries(b, headers));
        b.finish(io.github.api7.A6.HTTPReqCall.Req.createReq(b, id, ip, method, p, a, h, confToken));
        return b.sizedByteArray();
    }

    public static byte[] responseCall(long id, long confToken, int status, List<Entry> headers) {
        FlatBufferBuilder b = new FlatBufferBuilder(1024);
        int h = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, entries(b, headers));
        b.finish(io.github.api7.A6.HTTPRespCall.Req.createReq(b, id, status, h, confToken));
        return b.sizedByteArray();
    }

    /** An ExtraInfo answer; {@code result} null = no result field (APISIX's answer for a missing var). */
    public static byte[] extraInfoAnswer(byte[] result) {
        FlatBufferBuilder b = new FlatBufferBuilder(64 + (result == null ? 0 : result.length));
        int v = result == null ? 0 : io.github.api7.A6.ExtraInfo.Resp.createResultVector(b, result);
        io.github.api7.A6.ExtraInfo.Resp.startResp(b);
        if (result != null) {
            io.github.api7.A6.ExtraInfo.Resp.addResult(b, v);
        }
        b.finish(io.github.api7.A6.ExtraInfo.Resp.endResp(b));
        return b.sizedByteArray();
    }

    // ---- runner → APISIX --------------------------------------------------------------------

    public static long decodePrepareReply(byte[] payload) {
        return io.github.api7.A6.PrepareConf.Resp.getRootAsResp(buf(payload)).confToken();
    }

    public static int decodeError(byte[] payload) {
        return io.github.api7.A6.Err.Resp.getRootAsResp(buf(payload)).code();
    }

    public static Question decodeQuestion(byte[] payload) {
        var req = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(buf(payload));
        int kind = req.infoType();
        if (kind == io.github.api7.A6.ExtraInfo.Info.Var) {
            var v = (io.github.api7.A6.ExtraInfo.Var) req.info(new io.github.api7.A6.ExtraInfo.Var());
            return new Question(kind, v == null ? null : v.name());
        }
        return new Question(kind, null);
    }

    public static RequestReply decodeRequestReply(byte[] payload) {
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(buf(payload));
        int type = resp.actionType();
        if (type == io.github.api7.A6.HTTPReqCall.Action.Stop) {
            var s = (io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop());
            List<Entry> headers = new ArrayList<>();
            for (int i = 0; i < s.headersLength(); i++) {
                headers.add(entry(s.headers(i)));
            }
            return new RequestReply(resp.id(), type, new Stop(s.status(), headers, bytes(s.bodyAsByteBuffer())), null);
        }
        if (type == io.github.api7.A6.HTTPReqCall.Action.Rewrite) {
            RewriteTable r = new RewriteTable();
            resp.action(r);
            var rw = new io.github.api7.A6.HTTPReqCall.Rewrite();
            rw.__init(r.position(), r.buffer());
            List<Entry> h = new ArrayList<>();
            for (int i = 0; i < rw.headersLength(); i++) {
                h.add(entry(rw.headers(i)));
            }
            List<Entry> a = new ArrayList<>();
            for (int i = 0; i < rw.argsLength(); i++) {
                a.add(entry(rw.args(i)));
            }
            List<Entry> rh = new ArrayList<>();
            for (int i = 0; i < rw.respHeadersLength(); i++) {
                rh.add(entry(rw.respHeaders(i)));
            }
            return new RequestReply(resp.id(), type, null,
                    new Rewrite(Optional.ofNullable(rw.path()), h, a, rh, r.body()));
        }
        return new RequestReply(resp.id(), type, null, null);
    }

    public static ResponseReply decodeResponseReply(byte[] payload) {
        var resp = io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(buf(payload));
        List<Entry> headers = new ArrayList<>();
        for (int i = 0; i < resp.headersLength(); i++) {
            headers.add(entry(resp.headers(i)));
        }
        return new ResponseReply(resp.id(), resp.status(), headers, bytes(resp.bodyAsByteBuffer()));
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Rewrite with access to field 4 ({@code body: [ubyte]}), which the generated class lacks. */
    private static final class RewriteTable extends Table {
        int position() {
            return bb_pos;
        }

        ByteBuffer buffer() {
            return bb;
        }

        Optional<byte[]> body() {
            int o = __offset(12); // vtable slot 4 + 2 * field index 4
            if (o == 0) {
                return Optional.empty();
            }
            int len = __vector_len(o);
            int start = __vector(o);
            byte[] out = new byte[len];
            for (int i = 0; i < len; i++) {
                out[i] = bb.get(start + i);
            }
            return Optional.of(out);
        }
    }

    /** An absent vector and an empty one mean the same to APISIX ("no body", conformance R4/R4b). */
    private static Optional<byte[]> bytes(ByteBuffer v) {
        if (v == null || !v.hasRemaining()) {
            return Optional.empty();
        }
        byte[] out = new byte[v.remaining()];
        v.get(out);
        return Optional.of(out);
    }

    private static Entry entry(TextEntry e) {
        return new Entry(e.name(), e.value());
    }

    private static int[] entries(FlatBufferBuilder b, List<Entry> list) {
        int[] offs = new int[list.size()];
        for (int i = 0; i < offs.length; i++) {
            offs[i] = entry(b, list.get(i).name(), list.get(i).value());
        }
        return offs;
    }

    private static int entry(FlatBufferBuilder b, String name, String value) {
        int n = b.createString(name);
        int v = value == null ? 0 : b.createString(value);
        return TextEntry.createTextEntry(b, n, v);
    }

    private static ByteBuffer buf(byte[] payload) {
        return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    }
}
