package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Vars;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Rebuilds what a recorded call sent, for replay and policy replay. Scrubbed headers stay absent. */
public final class RequestReconstruction {
    private RequestReconstruction() {
    }

    /** The exact recorded request body; empty when it was not recorded in full. */
    public static Optional<Body> body(JsonNode rec) {
        JsonNode req = rec.path("request");
        if (req.path("body_truncated").asBoolean(false) || req.path("body_redacted").asBoolean(false)) {
            return Optional.empty();
        }
        return switch (req.path("body_encoding").asText("")) {
            case "utf8" -> Optional.of(Body.utf8(req.path("body").asText()));
            case "base64" -> Optional.of(Body.wrap(Base64.getDecoder().decode(req.path("body").asText())));
            case "absent" -> Optional.of(Body.empty());
            default -> Optional.empty();
        };
    }

    public static List<Header> headers(JsonNode rec) {
        List<Header> out = new ArrayList<>();
        for (JsonNode pair : rec.path("request").path("headers")) {
            out.add(new Header(pair.get(0).asText(), pair.get(1).isNull() ? null : pair.get(1).asText()));
        }
        return out;
    }

    public static List<Header> args(JsonNode rec) {
        List<Header> out = new ArrayList<>();
        for (JsonNode pair : rec.path("request").path("query")) {
            out.add(new Header(pair.get(0).asText(), pair.get(1).isNull() ? null : pair.get(1).asText()));
        }
        return out;
    }

    /** As the runtime would hand it to a request-phase plugin (vars derived from the headers). */
    public static HttpRequest httpRequest(JsonNode rec) {
        JsonNode req = rec.path("request");
        List<Header> headers = headers(rec);
        Map<String, String> vars = new HashMap<>();
        for (Header h : headers) {
            if (h.value() != null) {
                vars.merge("http_" + h.name().toLowerCase(Locale.ROOT).replace('-', '_'), h.value(), (a, b) -> a + ", " + b);
            }
        }
        vars.put("request_id", "replay-" + rec.path("id").asText());
        vars.put("remote_addr", req.path("client_address").asText(""));
        vars.put("request_method", req.path("method").asText("GET"));
        // a record holds the normalised path and the decoded query, not the raw target: the replay
        // rebuilds the canonical spelling of both, under both names APISIX 3.18 answers
        String target = requestUri(req.path("path").asText("/"), args(rec));
        vars.put("request_uri", target);
        vars.put(CanonicalPath.RAW_TARGET_VAR, target);
        return new HttpRequest(1, req.path("method").asText("GET"), req.path("path").asText("/"), Headers.of(args(rec)),
                Headers.of(headers), req.path("client_address").asText("127.0.0.1"), Vars.of(vars),
                body(rec).or(() -> Optional.of(Body.utf8(req.path("body").asText("")))));
    }

    /** The raw target (not recorded): the recorded path and query, the query percent-encoded. */
    static String requestUri(String path, List<Header> args) {
        StringBuilder sb = new StringBuilder(path);
        char sep = '?';
        for (Header a : args) {
            sb.append(sep).append(java.net.URLEncoder.encode(a.name(), java.nio.charset.StandardCharsets.UTF_8));
            if (a.value() != null) {
                sb.append('=').append(java.net.URLEncoder.encode(a.value(), java.nio.charset.StandardCharsets.UTF_8));
            }
            sep = '&';
        }
        return sb.toString();
    }
}
