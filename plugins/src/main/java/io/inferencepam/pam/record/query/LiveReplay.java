package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Re-sends a recorded request through a gateway under the operator's own token (the original
 * credential is never recorded, so it cannot be reused) and diffs the recorded and the new
 * response. The request carries {@code x-pam-replay-of: <id>} so the new record can be told apart.
 */
public final class LiveReplay {
    /** Headers the HTTP client sets itself, or that make no sense to resend. */
    private static final Set<String> NOT_RESENT = Set.of("host", "content-length", "connection", "expect", "upgrade",
            "transfer-encoding", "keep-alive", "te", "trailer", "proxy-connection", "http2-settings", "x-forwarded-for",
            "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip");

    public record Outcome(int recordedStatus, String recordedBody, int newStatus, String newBody, List<String> diff) {
        public boolean identical() {
            return recordedStatus == newStatus && recordedBody.equals(newBody);
        }
    }

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public Outcome replay(JsonNode rec, String gateway, String token) throws Exception {
        Body body = RequestReconstruction.body(rec).orElseThrow(() -> new IllegalArgumentException(
                "the request body of this record was not recorded in full (truncated, redacted or disabled): it cannot be replayed exactly"));
        JsonNode req = rec.path("request");
        StringBuilder target = new StringBuilder(gateway.replaceAll("/+$", ""));
        target.append(encodePath(req.path("path").asText("/")));
        List<Header> args = RequestReconstruction.args(rec);
        for (int i = 0; i < args.size(); i++) {
            Header a = args.get(i);
            target.append(i == 0 ? '?' : '&').append(URLEncoder.encode(a.name(), StandardCharsets.UTF_8));
            if (a.value() != null) {
                target.append('=').append(URLEncoder.encode(a.value(), StandardCharsets.UTF_8));
            }
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target.toString())).timeout(Duration.ofSeconds(90));
        for (Header h : RequestReconstruction.headers(rec)) {
            if (h.value() != null && !NOT_RESENT.contains(h.name().toLowerCase(Locale.ROOT))) {
                b.header(h.name(), h.value());
            }
        }
        b.header("Authorization", "Bearer " + token);
        b.header("x-pam-replay-of", rec.path("id").asText());
        b.method(req.path("method").asText("GET"), body.isEmpty() ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
        HttpResponse<byte[]> resp = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        String newBody = new String(resp.body(), StandardCharsets.UTF_8);
        String recordedBody = rec.path("response").path("body").asText("");
        int recordedStatus = rec.path("response").path("status").asInt(0);
        return new Outcome(recordedStatus, recordedBody, resp.statusCode(), newBody, diff(pretty(recordedBody), pretty(newBody)));
    }

    private static String encodePath(String decoded) {
        StringBuilder sb = new StringBuilder();
        for (String seg : decoded.split("/", -1)) {
            if (sb.length() > 0 || decoded.startsWith("/")) {
                sb.append('/');
            }
            sb.append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        String s = sb.toString();
        return s.startsWith("//") ? s.substring(1) : s;
    }

    /** JSON pretty-printed with sorted keys (so key order is no difference), other text as is. */
    static List<String> pretty(String text) {
        try {
            JsonNode n = CanonicalJson.parse(text);
            if (n != null && (n.isObject() || n.isArray())) {
                return List.of(CanonicalJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(sortedKeys(n)).split("\n"));
            }
        } catch (Exception notJson) {
            // fall through
        }
        return List.of(text.split("\n", -1));
    }

    /**
     * {@code n} with every object's keys sorted; values as parsed. (Not the audit canonical form:
     * RFC 8785 turns numbers into doubles, and a body's numbers must be shown as they are.)
     */
    private static JsonNode sortedKeys(JsonNode n) {
        if (n.isObject()) {
            com.fasterxml.jackson.databind.node.ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
            List<String> names = new java.util.ArrayList<>();
            n.fieldNames().forEachRemaining(names::add);
            names.sort(null);
            names.forEach(k -> o.set(k, sortedKeys(n.get(k))));
            return o;
        }
        if (n.isArray()) {
            com.fasterxml.jackson.databind.node.ArrayNode a = CanonicalJson.MAPPER.createArrayNode();
            n.forEach(e -> a.add(sortedKeys(e)));
            return a;
        }
        return n;
    }

    /** A line diff (LCS): "  " same, "- " recorded only, "+ " new only. */
    public static List<String> diff(List<String> a, List<String> b) {
        if ((long) a.size() * b.size() > 4_000_000L) {
            return List.of("- (" + a.size() + " lines)", "+ (" + b.size() + " lines: too large to diff line by line)");
        }
        int[][] l = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                l[i][j] = a.get(i).equals(b.get(j)) ? l[i + 1][j + 1] + 1 : Math.max(l[i + 1][j], l[i][j + 1]);
            }
        }
        List<String> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() && j < b.size()) {
            if (a.get(i).equals(b.get(j))) {
                out.add("  " + a.get(i));
                i++;
                j++;
            } else if (l[i + 1][j] >= l[i][j + 1]) {
                out.add("- " + a.get(i++));
            } else {
                out.add("+ " + b.get(j++));
            }
        }
        while (i < a.size()) {
            out.add("- " + a.get(i++));
        }
        while (j < b.size()) {
            out.add("+ " + b.get(j++));
        }
        return out;
    }
}
