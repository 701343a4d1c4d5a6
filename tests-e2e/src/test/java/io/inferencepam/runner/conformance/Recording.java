package io.inferencepam.runner.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One conformance recording of APISIX 3.18.0 (format: {@code conformance/README.md}), with the
 * large bodies (recorded as prefix + sha256) regenerated from their repeating pattern and checked
 * against the recorded digest.
 */
record Recording(String id, String file, JsonNode json) {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path dir() {
        return Path.of(System.getProperty("pam.conformance.dir", "src/test/resources/conformance"));
    }

    static List<Recording> all() {
        try (Stream<Path> files = Files.list(dir())) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().map(Recording::load).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Recording load(Path p) {
        try {
            JsonNode j = JSON.readTree(p.toFile());
            return new Recording(j.get("scenario_id").asText(), p.getFileName().toString(), j);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return id;
    }

    JsonNode script() {
        return json.path("runner_script");
    }

    int requestCount() {
        return json.get("client_request").size();
    }

    /** The route's ext-plugin confs; {@code allow_degradation} as recorded. */
    RouteConf route() {
        JsonNode r = json.get("route");
        RouteConf.Builder b = RouteConf.builder(r.get("id").asText());
        JsonNode plugins = r.get("plugins");
        boolean degrade = false;
        for (String name : List.of("ext-plugin-pre-req", "ext-plugin-post-req", "ext-plugin-post-resp")) {
            JsonNode p = plugins.get(name);
            if (p == null) {
                continue;
            }
            degrade |= p.path("allow_degradation").asBoolean(false);
            for (JsonNode c : p.get("conf")) {
                ConfEntry e = new ConfEntry(c.get("name").asText(), c.get("value").asText());
                switch (name) {
                    case "ext-plugin-pre-req" -> b.preReq(e);
                    case "ext-plugin-post-req" -> b.postReq(e);
                    default -> b.postResp(e);
                }
            }
        }
        globalRuleHeaderEdits(b);
        return b.allowDegradation(degrade).build();
    }

    private static final java.util.regex.Pattern SET_HEADER_NIL =
            java.util.regex.Pattern.compile("core\\.request\\.set_header\\(ctx, '([^']+)', nil\\)");

    /**
     * The request-header edits of the recording's {@code global_rules} (H1–H4), for the stock
     * plugins the recordings use; any other plugin there fails the replay, so a new recording
     * makes its reader decide what that plugin does to the header table.
     */
    private void globalRuleHeaderEdits(RouteConf.Builder b) {
        for (JsonNode rule : json.path("global_rules")) {
            rule.get("plugins").fields().forEachRemaining(p -> {
                JsonNode conf = p.getValue();
                switch (p.getKey()) {
                    // headers.remove calls set_header(ctx, name, nil) without reading the table first
                    case "proxy-rewrite" -> conf.path("headers").path("remove").forEach(n -> b.removesHeaderBeforePreReq(n.asText(), false));
                    case "key-auth" -> keyAuth(conf, b);
                    case "serverless-pre-function" -> conf.get("functions").forEach(f -> {
                        String code = f.asText();
                        java.util.regex.Matcher m = SET_HEADER_NIL.matcher(code);
                        while (m.find()) {
                            boolean readFirst = code.substring(0, m.start()).contains("core.request.header");
                            b.removesHeaderBeforePreReq(m.group(1), readFirst);
                        }
                    });
                    default -> throw new IllegalStateException(id + ": global rule plugin not modelled: " + p.getKey());
                }
            });
        }
    }

    /**
     * key-auth (APISIX 3.18) reads its key header, hides it when {@code hide_credentials}, then
     * attaches the consumer whose key matched, which sets {@code X-Consumer-Username} (H4). Every
     * request of the recordings carries a consumer's key, so the consumer is the recording's only
     * one ({@code consumers}: the lab's standalone {@code apisix.yaml}, copied into the recording).
     */
    private void keyAuth(JsonNode conf, RouteConf.Builder b) {
        String header = conf.path("header").asText("apikey");
        if (conf.path("hide_credentials").asBoolean(false)) {
            b.removesHeaderBeforePreReq(header, true);
        }
        JsonNode consumers = json.path("consumers");
        if (consumers.size() != 1) {
            throw new IllegalStateException(id + ": key-auth needs exactly one consumer in the recording's consumers");
        }
        b.setsHeaderBeforePreReq("X-Consumer-Username", consumers.get(0).get("username").asText());
    }

    boolean hasPostResp() {
        return json.get("route").get("plugins").has("ext-plugin-post-resp");
    }

    ClientRequest clientRequest(int index) {
        JsonNode c = json.get("client_request").get(index);
        ClientRequest.Builder b = ClientRequest.builder(c.get("method").asText(), c.get("target").asText());
        for (JsonNode h : c.get("headers")) {
            b.header(h.get(0).asText(), h.get(1).asText());
        }
        JsonNode body = c.get("body");
        if (body != null && !body.isNull()) {
            b.body(body(body));
        }
        return b.build();
    }

    /** Frames of one client request, in recorded order. */
    List<JsonNode> frames(int requestIndex) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode f : json.get("frames")) {
            if (f.get("request_index").asInt() == requestIndex) {
                out.add(f);
            }
        }
        return out;
    }

    /** APISIX's answer to the Var question {@code var} in that request (empty: result absent); fails if it was not asked. */
    Optional<String> varAnswer(int request, String var) {
        String asked = null;
        for (JsonNode f : frames(request)) {
            if (f.get("type").asInt() != 3) {
                continue;
            }
            JsonNode d = f.get("decoded");
            if (!isApisixToRunner(f)) {
                asked = d.path("name").asText();
            } else if (var.equals(asked)) {
                return d.get("result_present").asBoolean() ? Optional.of(d.get("result_utf8").asText()) : Optional.empty();
            }
        }
        throw new AssertionError(id + " request " + request + ": " + var + " was not asked");
    }

    List<JsonNode> upstreamReceived(int requestIndex) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode u : json.get("upstream_received")) {
            if (u.get("request_index").asInt() == requestIndex) {
                out.add(u);
            }
        }
        return out;
    }

    JsonNode clientReceived(int requestIndex) {
        return json.get("client_received").get(requestIndex);
    }

    /** Payload bytes of a recorded frame (without the 4-byte header); null for frames recorded by digest only. */
    static byte[] payload(JsonNode frame) {
        JsonNode hex = frame.get("hex");
        if (hex == null || hex.isNull()) {
            return null;
        }
        byte[] all = HexFormat.of().parseHex(hex.asText());
        byte[] p = new byte[all.length - 4];
        System.arraycopy(all, 4, p, 0, p.length);
        return p;
    }

    static boolean isApisixToRunner(JsonNode frame) {
        return frame.get("direction").asText().equals("apisix->runner");
    }

    /** A recorded body: exact from hex, or regenerated from its periodic prefix and verified by sha256. */
    static byte[] body(JsonNode b) {
        if (b.has("hex") && !b.get("hex").isNull()) {
            return HexFormat.of().parseHex(b.get("hex").asText());
        }
        return regenerate(b.get("utf8_prefix").asText(), b.get("length").asInt(), b.get("sha256").asText());
    }

    /** Regenerates {@code length} bytes of the smallest period of {@code prefix}; fails if the digest differs. */
    static byte[] regenerate(String prefix, int length, String sha256) {
        byte[] pre = prefix.getBytes(StandardCharsets.UTF_8);
        int period = pre.length;
        for (int p = 1; p < pre.length; p++) {
            boolean ok = true;
            for (int i = p; i < pre.length && ok; i++) {
                ok = pre[i] == pre[i - p];
            }
            if (ok) {
                period = p;
                break;
            }
        }
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = pre[i % period];
        }
        if (!sha256(out).equals(sha256)) {
            throw new IllegalStateException("cannot regenerate a recorded body (digest differs)");
        }
        return out;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<HttpHeader> headers(JsonNode pairs) {
        List<HttpHeader> out = new ArrayList<>();
        for (JsonNode h : pairs) {
            if (h.isArray()) {
                out.add(new HttpHeader(h.get(0).asText(), h.get(1).asText()));
            } else {
                out.add(new HttpHeader(h.get("name").asText(), h.get("value").isNull() ? "" : h.get("value").asText()));
            }
        }
        return out;
    }
}
