package io.inferencepam.runner.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RpcFrame;
import io.inferencepam.driver.UpstreamRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replays all recordings of APISIX 3.18.0 against the driver, with a {@link ReplayRunner}
 * answering exactly what the recorded runner answered and an {@link EchoUpstream} answering what
 * the recording upstream answered:
 * <ul>
 * <li>(a) {@link #driverSendsTheFramesApisixSent}: the driver's APISIX→runner frames equal the
 *     recorded ones field by field (ignoring RPC ids, conf tokens, the conf version in the key, and
 *     the Lua hash order of headers/args — compared as multisets, with each name's values in
 *     order), the runner→APISIX frames line up, and the connection pattern is the same (nested
 *     PrepareConf connection, reuse, new connection after an error);</li>
 * <li>(c) {@link #driverAppliesRepliesLikeApisix}: the upstream received the same requests
 *     (method, target with the query as a multiset, headers as a multiset, body) and the client the
 *     same status, headers (multiset modulo Date/Server/Connection/Transfer-Encoding) and body.</li>
 * </ul>
 * Where the driver does not match, {@link #KNOWN_DIFFERENCES} names the difference, and the test
 * asserts that the difference is really there (so a fixed difference must be removed from it).
 */
class DriverConformanceTest {

    /** scenario:aspect → why the driver differs from APISIX there. */
    static final Map<String, String> KNOWN_DIFFERENCES = Map.of();

    static Stream<Recording> recordings() {
        return Recording.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recordings")
    void driverSendsTheFramesApisixSent(Recording rec) throws Exception {
        Replayed run = replay(rec);
        check(rec.id() + ":frames", () -> {
            for (int i = 0; i < rec.requestCount(); i++) {
                compareFrames(rec, i, run.results.get(i));
            }
            assertThat(run.problems).as("replay problems").isEmpty();
            if (rec.id().equals("C4")) {
                // C4: one request_id for both phases of a call, another one for the next call
                List<String> first = requestIdAnswers(run.results.get(0));
                List<String> second = requestIdAnswers(run.results.get(1));
                assertThat(first).hasSize(2);
                assertThat(first.get(0)).isEqualTo(first.get(1)).isEqualTo(run.results.get(0).requestId());
                assertThat(second).hasSize(2);
                assertThat(second.get(0)).isEqualTo(second.get(1)).isNotEqualTo(first.get(0));
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recordings")
    void driverAppliesRepliesLikeApisix(Recording rec) throws Exception {
        Replayed run = replay(rec);
        check(rec.id() + ":results", () -> {
            for (int i = 0; i < rec.requestCount(); i++) {
                compareUpstream(rec, i, run.results.get(i));
                compareClient(rec, i, run.results.get(i));
            }
        });
    }

    private static void check(String key, ThrowingRunnable comparison) {
        String known = KNOWN_DIFFERENCES.get(key);
        if (known == null) {
            try {
                comparison.run();
            } catch (RuntimeException | AssertionError e) {
                throw e;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        } else {
            assertThatThrownBy(comparison::run).as("known difference no longer present: " + known).isNotNull();
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    // ---- the replay ---------------------------------------------------------------------------

    record Replayed(List<GatewayResult> results, List<String> problems) {
    }

    private static Replayed replay(Recording rec) throws Exception {
        Path dir = Files.createTempDirectory("pam-replay");
        Path socket = dir.resolve("runner.sock");
        boolean runnerAbsent = rec.json().get("frames").isEmpty(); // R9, R9b, P10: socket absent
        boolean closeOnCall = rec.script().path("req").path("close").asBoolean(false);
        // C2b waits for APISIX's 60 s upstream timeout; 2 s shows the same outcome
        Duration upstreamTimeout = Duration.ofSeconds(rec.id().equals("C2b") ? 2 : 20);
        try (ReplayRunner replay = runnerAbsent ? null : new ReplayRunner(socket);
             EchoUpstream upstream = EchoUpstream.start();
             ApisixDriver base = new ApisixDriver(socket);
             ApisixDriver driver = base.withTimeouts(Duration.ofSeconds(20), upstreamTimeout)) {
            List<GatewayResult> results = new ArrayList<>();
            for (int i = 0; i < rec.requestCount(); i++) {
                if (replay != null) {
                    if (rec.id().equals("R7c") && i == 1) {
                        replay.restart(); // "runner process restarted between request 0 and request 1"
                    }
                    replay.script(rec.frames(i), closeOnCall);
                }
                scriptUpstream(rec, i, upstream);
                GatewayResult result = driver.call(rec.route(), rec.clientRequest(i), upstream);
                results.add(result);
                if (replay != null) {
                    assertThat(replay.consumedAll()).as(rec.id() + " request " + i + ": every recorded frame was exchanged; "
                            + replay.problems() + " " + result + " " + types(result.transcript())).isTrue();
                }
            }
            return new Replayed(results, replay == null ? List.of() : replay.problems());
        }
    }

    /** Scripts the upstream with what the recording upstream answered (status, headers, body). */
    private static void scriptUpstream(Recording rec, int i, EchoUpstream upstream) {
        List<JsonNode> frames = rec.frames(i);
        JsonNode respCall = null;
        JsonNode respReply = null;
        byte[] respBody = null;
        JsonNode pendingRespBodyQuestion = null;
        for (JsonNode f : frames) {
            int type = f.get("type").asInt();
            boolean a2r = Recording.isApisixToRunner(f);
            if (type == 4 && a2r && respCall == null) {
                respCall = f.get("decoded");
            } else if (type == 4 && !a2r) {
                respReply = f.get("decoded");
            } else if (type == 3 && !a2r && f.get("decoded").get("info_type").asInt() == 3) {
                pendingRespBodyQuestion = f;
            } else if (type == 3 && a2r && pendingRespBodyQuestion != null && respBody == null) {
                respBody = answerBytes(f.get("decoded"));
                pendingRespBodyQuestion = null;
            } else if (type == 3 && a2r) {
                pendingRespBodyQuestion = null;
            }
        }
        JsonNode client = rec.clientReceived(i);
        for (JsonNode u : rec.upstreamReceived(i)) {
            int status;
            List<HttpHeader> headers;
            byte[] body;
            if (respCall != null) {
                status = respCall.get("status").asInt();
                headers = Recording.headers(respCall.get("headers"));
                if (respBody != null) {
                    body = respBody;
                } else if (respReply != null && respReply.hasNonNull("body_hex") && !respReply.get("body_hex").asText().isEmpty()) {
                    // the runner replaced a body it never read: only its length mattered to APISIX
                    String cl = first(headers, "content-length");
                    body = "x".repeat(cl == null ? 0 : Integer.parseInt(cl)).getBytes(StandardCharsets.UTF_8);
                } else {
                    body = Recording.body(client.get("body"));
                }
            } else {
                status = 200;
                body = Recording.body(client.get("body"));
                headers = new ArrayList<>(canonicalUpstreamHeaders());
                String cl = first(Recording.headers(client.get("headers")), "content-length");
                headers.replaceAll(h -> h.is("content-length") ? new HttpHeader(h.name(), cl != null ? cl : Integer.toString(body.length)) : h);
            }
            boolean chunked = headers.stream().anyMatch(h -> h.is("transfer-encoding"));
            if (chunked) {
                List<HttpHeader> without = headers.stream().filter(h -> !h.is("transfer-encoding")).toList();
                upstream.respondChunked(status, without, sseChunks(body), Duration.ofMillis(5));
            } else {
                upstream.respondWith(status, headers, body);
            }
        }
    }

    private static List<byte[]> sseChunks(byte[] body) {
        String s = new String(body, StandardCharsets.ISO_8859_1);
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        int at;
        while ((at = s.indexOf("\n\n", start)) >= 0) {
            out.add(s.substring(start, at + 2).getBytes(StandardCharsets.ISO_8859_1));
            start = at + 2;
        }
        if (start < s.length()) {
            out.add(s.substring(start).getBytes(StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    private static List<HttpHeader> canonicalUpstreamHeaders() {
        // the recording upstream's usual header set, as APISIX relayed it in P1's HTTPRespCall
        Recording p1 = Recording.all().stream().filter(r -> r.id().equals("P1")).findFirst().orElseThrow();
        for (JsonNode f : p1.frames(0)) {
            if (f.get("type").asInt() == 4 && Recording.isApisixToRunner(f)) {
                return Recording.headers(f.get("decoded").get("headers"));
            }
        }
        throw new IllegalStateException("P1 has no HTTPRespCall");
    }

    private static byte[] answerBytes(JsonNode decoded) {
        if (!decoded.get("result_present").asBoolean()) {
            return new byte[0];
        }
        if (decoded.hasNonNull("result_hex")) {
            return HexFormat.of().parseHex(decoded.get("result_hex").asText());
        }
        return Recording.regenerate(decoded.get("result_utf8_prefix").asText(), decoded.get("result_length").asInt(),
                decoded.get("result_sha256").asText());
    }

    private static String first(List<HttpHeader> headers, String name) {
        return headers.stream().filter(h -> h.is(name)).map(HttpHeader::value).findFirst().orElse(null);
    }

    // ---- (a) frames ---------------------------------------------------------------------------

    private static void compareFrames(Recording rec, int i, GatewayResult r) {
        List<JsonNode> recorded = rec.frames(i);
        List<JsonNode> recA = recorded.stream().filter(Recording::isApisixToRunner).toList();
        List<JsonNode> recR = recorded.stream().filter(f -> !Recording.isApisixToRunner(f)).toList();
        List<RpcFrame> drvA = r.transcript().stream().filter(f -> f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER).toList();
        List<RpcFrame> drvR = r.transcript().stream().filter(f -> f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX).toList();
        String where = rec.id() + " request " + i;
        assertThat(types(drvA)).as(where + ": APISIX→runner frame types").isEqualTo(recA.stream().map(f -> f.get("type").asInt()).toList());
        assertThat(types(drvR)).as(where + ": runner→APISIX frame types").isEqualTo(recR.stream().map(f -> f.get("type").asInt()).toList());
        List<String> questions = recR.stream().filter(f -> f.get("type").asInt() == 3)
                .map(f -> f.get("decoded").path("name").asText(f.get("decoded").get("info_type_name").asText())).toList();
        int answer = 0;
        for (int k = 0; k < recA.size(); k++) {
            JsonNode expected = recA.get(k).get("decoded");
            JsonNode actual = Decoded.of(drvA.get(k).type(), drvA.get(k).payload());
            String at = where + " frame " + k + " (" + recA.get(k).get("type_name").asText() + ")";
            switch (drvA.get(k).type()) {
                case 1 -> {
                    assertThat(actual.get("conf")).as(at + " conf").isEqualTo(expected.get("conf"));
                    assertThat(withoutVersion(actual.get("key").asText())).as(at + " key").isEqualTo(withoutVersion(expected.get("key").asText()));
                }
                case 2 -> {
                    assertThat(actual.get("method").asInt()).as(at + " method").isEqualTo(expected.get("method").asInt());
                    assertThat(actual.get("path").asText()).as(at + " path").isEqualTo(expected.get("path").asText());
                    assertThat(actual.get("src_ip_hex").asText()).as(at + " src_ip").isEqualTo(expected.get("src_ip_hex").asText());
                    assertEntries(at + " args", actual.get("args"), expected.get("args"));
                    assertEntries(at + " headers", actual.get("headers"), expected.get("headers"));
                }
                case 4 -> {
                    assertThat(actual.get("status").asInt()).as(at + " status").isEqualTo(expected.get("status").asInt());
                    assertEntries(at + " headers", actual.get("headers"), expected.get("headers"));
                }
                case 3 -> {
                    String question = questions.get(answer++);
                    assertThat(actual.get("result_present").asBoolean()).as(at + " result present for " + question)
                            .isEqualTo(expected.get("result_present").asBoolean());
                    if (question.equals("request_id")) {
                        assertThat(new String(HexFormat.of().parseHex(actual.get("result_hex").asText()), StandardCharsets.UTF_8))
                                .as(at + " request_id").matches("[0-9a-f]{32}");
                    } else if (expected.get("result_present").asBoolean()) {
                        String expectedSha = expected.hasNonNull("result_hex")
                                ? Recording.sha256(HexFormat.of().parseHex(expected.get("result_hex").asText()))
                                : expected.get("result_sha256").asText();
                        assertThat(actual.get("result_sha256").asText()).as(at + " result for " + question + " = "
                                + expected.path("result_utf8").asText("<large>") + " but was "
                                + new String(HexFormat.of().parseHex(actual.get("result_hex").asText()), StandardCharsets.UTF_8))
                                .isEqualTo(expectedSha);
                    }
                }
                default -> throw new AssertionError(at + ": unexpected type");
            }
        }
        // Same connection pattern: a bijection between recorded and driver connections.
        Map<Integer, Integer> recToDrv = new HashMap<>();
        Map<Integer, Integer> drvToRec = new HashMap<>();
        List<RpcFrame> drvAll = r.transcript();
        List<JsonNode> recAll = new ArrayList<>(recA);
        recAll.addAll(recR);
        List<RpcFrame> drvSplit = new ArrayList<>(drvA);
        drvSplit.addAll(drvR);
        for (int k = 0; k < recAll.size(); k++) {
            int rc = recAll.get(k).get("conn").asInt();
            int dc = drvSplit.get(k).connection();
            assertThat(recToDrv.computeIfAbsent(rc, x -> dc)).as(where + ": recorded conn " + rc + " maps to one driver connection").isEqualTo(dc);
            assertThat(drvToRec.computeIfAbsent(dc, x -> rc)).as(where + ": driver conn " + dc + " maps to one recorded connection").isEqualTo(rc);
        }
        assertThat(drvAll).hasSize(recorded.size());
    }

    private static List<Integer> types(List<RpcFrame> frames) {
        return frames.stream().map(RpcFrame::type).toList();
    }

    private static String withoutVersion(String key) {
        return key.substring(0, key.lastIndexOf('#'));
    }

    /** Multiset equality, plus the relative order of the values of each repeated name. */
    static void assertEntries(String what, JsonNode actual, JsonNode expected) {
        assertThat(Decoded.multiset(actual)).as(what).isEqualTo(Decoded.multiset(expected));
        assertThat(valuesByName(actual)).as(what + " (value order per name)").isEqualTo(valuesByName(expected));
    }

    private static Map<String, List<String>> valuesByName(JsonNode entries) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (JsonNode e : entries) {
            m.computeIfAbsent(e.get("name").asText(), k -> new ArrayList<>()).add(e.get("value").isNull() ? null : e.get("value").asText());
        }
        return new java.util.TreeMap<>(m);
    }

    private static List<String> requestIdAnswers(GatewayResult r) {
        List<String> ids = new ArrayList<>();
        for (RpcFrame f : r.transcript()) {
            if (f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER && f.type() == 3) {
                JsonNode d = Decoded.of(3, f.payload());
                ids.add(new String(HexFormat.of().parseHex(d.get("result_hex").asText()), StandardCharsets.UTF_8));
            }
        }
        return ids;
    }

    // ---- (c) results --------------------------------------------------------------------------

    private static final Set<String> UNCOMPARED_RESPONSE_HEADERS = Set.of("date", "server", "connection", "transfer-encoding");

    private static void compareUpstream(Recording rec, int i, GatewayResult r) {
        List<JsonNode> expected = rec.upstreamReceived(i);
        String where = rec.id() + " request " + i;
        assertThat(r.upstreamRequests()).as(where + ": upstream calls").hasSize(expected.size());
        for (int k = 0; k < expected.size(); k++) {
            JsonNode e = expected.get(k);
            UpstreamRequest a = r.upstreamRequests().get(k);
            String at = where + " upstream call " + (k + 1);
            assertThat(a.method()).as(at + " method").isEqualTo(e.get("method").asText());
            assertTarget(at, a.target(), e.get("raw_target").asText());
            assertThat(sortedHeaders(a.headers(), Set.of())).as(at + " headers")
                    .isEqualTo(sortedHeaders(Recording.headers(e.get("headers")), Set.of()));
            byte[] body = Recording.body(e.get("body"));
            assertThat(Recording.sha256(a.body())).as(at + " body (" + a.body().length + " vs " + body.length + " bytes)")
                    .isEqualTo(Recording.sha256(body));
        }
    }

    private static void assertTarget(String at, String actual, String expected) {
        int qa = actual.indexOf('?');
        int qe = expected.indexOf('?');
        assertThat(qa < 0 ? actual : actual.substring(0, qa)).as(at + " target path").isEqualTo(qe < 0 ? expected : expected.substring(0, qe));
        List<String> aq = qa < 0 ? List.of() : new ArrayList<>(List.of(actual.substring(qa + 1).split("&")));
        List<String> eq = qe < 0 ? List.of() : new ArrayList<>(List.of(expected.substring(qe + 1).split("&")));
        assertThat(aq).as(at + " target query (multiset: ngx.encode_args uses hash order)").containsExactlyInAnyOrderElementsOf(eq);
    }

    private static void compareClient(Recording rec, int i, GatewayResult r) {
        JsonNode e = rec.clientReceived(i);
        String where = rec.id() + " request " + i + " client response";
        assertThat(r.status()).as(where + " status; " + r).isEqualTo(e.get("status").asInt());
        assertThat(sortedHeaders(r.headers(), UNCOMPARED_RESPONSE_HEADERS)).as(where + " headers")
                .isEqualTo(sortedHeaders(Recording.headers(e.get("headers")), UNCOMPARED_RESPONSE_HEADERS));
        byte[] body = Recording.body(e.get("body"));
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).as(where + " body").isEqualTo(new String(body, StandardCharsets.UTF_8));
        assertThat(r.body()).as(where + " body bytes").isEqualTo(body);
    }

    private static List<String> sortedHeaders(List<HttpHeader> headers, Set<String> skip) {
        List<String> out = new ArrayList<>();
        for (HttpHeader h : headers) {
            if (!skip.contains(h.name().toLowerCase(Locale.ROOT))) {
                out.add(h.name() + ": " + h.value());
            }
        }
        out.sort(null);
        return out;
    }
}
