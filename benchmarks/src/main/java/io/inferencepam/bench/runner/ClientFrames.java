package io.inferencepam.bench.runner;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.TextEntry;
import java.nio.ByteBuffer;

/**
 * Frames the APISIX side sends, encoded once with the A6 FlatBuffers classes (the load loop only
 * copies pre-encoded bytes, so the driver's own cost stays the same for the runner and the floor).
 */
public final class ClientFrames {
    public static final byte ERROR = 0;
    public static final byte PREPARE_CONF = 1;
    public static final byte HTTP_REQ_CALL = 2;
    public static final byte EXTRA_INFO = 3;

    /** What APISIX sends for a typical OpenAI-SDK call (lower-cased names, as APISIX does). */
    private static final String[][] HEADERS = {
        {"host", "gateway.example.com"},
        {"user-agent", "OpenAI/Python 1.51.0"},
        {"accept", "application/json"},
        {"accept-encoding", "gzip, deflate"},
        {"content-type", "application/json"},
        {"authorization", "Bearer bench-token-not-a-secret"},
        {"x-stainless-lang", "python"},
        {"x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"},
    };

    private ClientFrames() {
    }

    public static byte[] prepareConf(String key, String plugin, String jsonValue) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int k = b.createString(key);
        int entry = TextEntry.createTextEntry(b, b.createString(plugin), b.createString(jsonValue));
        int conf = io.github.api7.A6.PrepareConf.Req.createConfVector(b, new int[] {entry});
        io.github.api7.A6.PrepareConf.Req.startReq(b);
        io.github.api7.A6.PrepareConf.Req.addConf(b, conf);
        io.github.api7.A6.PrepareConf.Req.addKey(b, k);
        b.finish(io.github.api7.A6.PrepareConf.Req.endReq(b));
        return frame(PREPARE_CONF, b);
    }

    /** An HTTPReqCall for {@code POST /v1/chat/completions?api-version=1} with {@code bodyLength} announced. */
    public static byte[] requestCall(long id, long confToken, int bodyLength) {
        FlatBufferBuilder b = new FlatBufferBuilder(1024);
        int[] hs = new int[HEADERS.length + 1];
        for (int i = 0; i < HEADERS.length; i++) {
            hs[i] = TextEntry.createTextEntry(b, b.createString(HEADERS[i][0]), b.createString(HEADERS[i][1]));
        }
        hs[HEADERS.length] = TextEntry.createTextEntry(b, b.createString("content-length"),
                b.createString(Integer.toString(bodyLength)));
        int headers = io.github.api7.A6.HTTPReqCall.Req.createHeadersVector(b, hs);
        int arg = TextEntry.createTextEntry(b, b.createString("api-version"), b.createString("1"));
        int args = io.github.api7.A6.HTTPReqCall.Req.createArgsVector(b, new int[] {arg});
        int path = b.createString("/v1/chat/completions");
        int ip = io.github.api7.A6.HTTPReqCall.Req.createSrcIpVector(b, new byte[] {10, 0, 0, 7});
        io.github.api7.A6.HTTPReqCall.Req.startReq(b);
        io.github.api7.A6.HTTPReqCall.Req.addId(b, id);
        io.github.api7.A6.HTTPReqCall.Req.addConfToken(b, confToken);
        io.github.api7.A6.HTTPReqCall.Req.addSrcIp(b, ip);
        io.github.api7.A6.HTTPReqCall.Req.addMethod(b, io.github.api7.A6.Method.POST);
        io.github.api7.A6.HTTPReqCall.Req.addPath(b, path);
        io.github.api7.A6.HTTPReqCall.Req.addArgs(b, args);
        io.github.api7.A6.HTTPReqCall.Req.addHeaders(b, headers);
        b.finish(io.github.api7.A6.HTTPReqCall.Req.endReq(b));
        return frame(HTTP_REQ_CALL, b);
    }

    /** APISIX's answer to the runner's ReqBody question. */
    public static byte[] bodyAnswer(byte[] body) {
        FlatBufferBuilder b = new FlatBufferBuilder(body.length + 64);
        int v = io.github.api7.A6.ExtraInfo.Resp.createResultVector(b, body);
        b.finish(io.github.api7.A6.ExtraInfo.Resp.createResp(b, v));
        return frame(EXTRA_INFO, b);
    }

    /** A chat-completions-like JSON body of exactly {@code size} bytes (ASCII). */
    public static byte[] chatBody(int size) {
        String head = "{\"model\":\"llama-3.1-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        String tail = "\"}]}";
        byte[] out = new byte[size];
        byte[] h = head.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] t = tail.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (size < h.length + t.length) {
            java.util.Arrays.fill(out, (byte) 'a');
            return out;
        }
        System.arraycopy(h, 0, out, 0, h.length);
        String filler = "The quick brown fox jumps over the lazy dog. ";
        for (int i = h.length; i < size - t.length; i++) {
            out[i] = (byte) filler.charAt((i - h.length) % filler.length());
        }
        System.arraycopy(t, 0, out, size - t.length, t.length);
        return out;
    }

    public static byte[] frame(byte type, FlatBufferBuilder b) {
        ByteBuffer p = b.dataBuffer();
        int n = p.remaining();
        byte[] out = new byte[4 + n];
        out[0] = type;
        out[1] = (byte) (n >>> 16);
        out[2] = (byte) (n >>> 8);
        out[3] = (byte) n;
        p.get(out, 4, n);
        return out;
    }

    public static ByteBuffer direct(byte[] frame) {
        ByteBuffer d = ByteBuffer.allocateDirect(frame.length);
        d.put(frame).flip();
        return d;
    }
}
