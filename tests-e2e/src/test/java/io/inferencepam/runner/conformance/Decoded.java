package io.inferencepam.runner.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.api7.A6.TextEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Decodes APISIX→runner payloads into the same JSON shape as the recordings' {@code decoded} field,
 * so a frame the driver sent and a frame APISIX sent can be compared field by field.
 */
final class Decoded {
    private Decoded() {
    }

    static ObjectNode of(int type, byte[] payload) {
        ByteBuffer bb = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        ObjectNode o = Recording.JSON.createObjectNode();
        switch (type) {
            case 1 -> {
                var r = io.github.api7.A6.PrepareConf.Req.getRootAsReq(bb);
                ArrayNode conf = o.putArray("conf");
                for (int i = 0; i < r.confLength(); i++) {
                    conf.addObject().put("name", r.conf(i).name()).put("value", r.conf(i).value());
                }
                o.put("key", r.key());
            }
            case 2 -> {
                var r = io.github.api7.A6.HTTPReqCall.Req.getRootAsReq(bb);
                byte[] ip = new byte[r.srcIpLength()];
                for (int i = 0; i < ip.length; i++) {
                    ip[i] = (byte) r.srcIp(i);
                }
                o.put("src_ip_hex", HexFormat.of().formatHex(ip));
                o.put("method", r.method());
                o.put("path", r.path());
                o.set("args", entries(r.argsLength(), r::args));
                o.set("headers", entries(r.headersLength(), r::headers));
            }
            case 3 -> {
                var r = io.github.api7.A6.ExtraInfo.Resp.getRootAsResp(bb);
                boolean present = hasRootField(bb, 0);
                o.put("result_present", present);
                byte[] v = new byte[present ? r.resultLength() : 0];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (byte) r.result(i);
                }
                o.put("result_length", v.length);
                o.put("result_hex", present ? HexFormat.of().formatHex(v) : null);
                o.put("result_sha256", Recording.sha256(v));
            }
            case 4 -> {
                var r = io.github.api7.A6.HTTPRespCall.Req.getRootAsReq(bb);
                o.put("status", r.status());
                o.set("headers", entries(r.headersLength(), r::headers));
            }
            default -> o.put("unknown_type", type);
        }
        return o;
    }

    static boolean hasRootField(ByteBuffer bb, int index) {
        int table = bb.getInt(0);
        int vtable = table - bb.getInt(table);
        int size = Short.toUnsignedInt(bb.getShort(vtable));
        int slot = 4 + 2 * index;
        return slot < size && bb.getShort(vtable + slot) != 0;
    }

    private static ArrayNode entries(int n, IntFunction<TextEntry> at) {
        ArrayNode a = Recording.JSON.createArrayNode();
        for (int i = 0; i < n; i++) {
            TextEntry e = at.apply(i);
            a.addObject().put("name", e.name()).put("value", e.value());
        }
        return a;
    }

    /** (name, value) pairs of a decoded entry array, sorted: Lua hash order is not meaningful (README "Order"). */
    static List<String> multiset(JsonNode entries) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : entries) {
            out.add(e.get("name").asText() + "=" + (e.get("value").isNull() ? "<absent>" : "\"" + e.get("value").asText() + "\""));
        }
        out.sort(null);
        return out;
    }
}
