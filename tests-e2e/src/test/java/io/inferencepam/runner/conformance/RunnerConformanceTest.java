package io.inferencepam.runner.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * (b) The real runner, fed the APISIX frames of every recording (conf tokens mapped to the ones it
 * hands out), with the test plugin {@code conformance} following each recording's runner_script.
 * APISIX's answers to the runner's ExtraInfo questions are taken from the recording, matched by
 * question (the runtime asks for vars first, then the body, always pipelined — the order is ours,
 * the set must be the recorded one). Each reply is compared with the recorded reply; where the
 * runtime answers differently <i>by design</i>, the case below names the difference and asserts
 * OUR behaviour:
 * <ul>
 * <li>{@code error} (R8, R8b, R8c): a failing plugin → Stop 503 with a generic OpenAI-style JSON body,
 *     never RPC_ERROR (DESIGN §3 invariant 1); in the response phase (P6, P6b) a safe 503
 *     response, never RPC_ERROR (APISIX would send the unmasked upstream body);</li>
 * <li>{@code token_not_found} (R7, R7b, R7c): the runtime answers CONF_TOKEN_NOT_FOUND for a token it
 *     does not know, so those calls are replayed with an unknown token;</li>
 * <li>{@code reply_type} (R13) and {@code close} (R14): a plugin cannot make the runtime send a
 *     wrong frame type or drop the connection: the runtime answers NONE;</li>
 * <li>Stop status 0 (R4, R4b): the SPI requires a real status, the plugin says 200 (what APISIX makes of 0);</li>
 * <li>Rewrite path with {@code ?} (R5, R5b): the SPI refuses a query in a path (APISIX would encode it
 *     as %3F); the plugin sends the part before {@code ?};</li>
 * <li>Rewrite headers: names are lower-cased by the SPI; a body rewrite adds {@code content-length}
 *     (C2/C2b: APISIX would forward the stale length);</li>
 * <li>response phase: the runtime always answers a complete header set (upstream headers minus
 *     hop-by-hop ones, plugin changes applied, {@code Content-Length}), the upstream status when the
 *     plugin keeps it (recorded: 0), and echoes the fetched body; a header map holds one value per
 *     name (P1's two runner Set-Cookie become the last one);</li>
 * <li>R16: APISIX never answers the ReqBody question (17 MiB): the test closes the connection and
 *     checks that the runner keeps serving; R9, R9b, P10 have no frames (runner absent).</li>
 * <li>vars the call frame answers (issue 15: {@code http_*} of a header present in a list of fewer
 *     than 100 entries, {@code remote_addr} from a 4-byte {@code src_ip}, in {@code ext-plugin-pre-req}
 *     only): for each, APISIX's recorded answer must be what the frame says (R2: {@code http_x_multi}
 *     = "one, two" from two entries), and R11's cut list (100 entries) must still make the runner ask
 *     {@code http_authorization}. With the runner's default ({@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ}
 *     unset) only {@code remote_addr} and {@code http_authorization} (nginx refuses a second line, N1)
 *     are then not asked; any other header var is asked, present or absent: H3/H4 show a frame of
 *     97/98 entries lacking {@code X-Model}, which APISIX answers and forwards, so a short frame may
 *     lack a present header's lines past the 100th too.</li>
 * </ul>
 */
class RunnerConformanceTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "te", "trailer", "upgrade", "content-length");
    static RunnerProcess runner;
    /** PrepareConf key of each recorded conf token of the recording being replayed. */
    private final Map<Long, String> keys = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start(Map.of("PAM_CONFORMANCE_DIR", Recording.dir().toAbsolutePath().toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        runner.close();
    }

    static Stream<Recording> recordings() {
        return Recording.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recordings")
    void runnerAnswersTheRecordedApisixFrames(Recording rec) throws Exception {
        if (rec.json().get("frames").isEmpty()) {
            assertThat(rec.id()).as("only socket-absent scenarios have no frames").isIn("R9", "R9b", "P10");
            return;
        }
        Map<Integer, RunnerConnection> conns = new HashMap<>();
        Map<Long, Long> tokens = new HashMap<>();
        keys.clear();
        try {
            for (int i = 0; i < rec.requestCount(); i++) {
                replayRequest(rec, i, conns, tokens);
            }
        } finally {
            conns.values().forEach(RunnerConnection::close);
        }
        // whatever happened, the runner still serves a fresh connection
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-noop", "{}")), "route#probe#ext-plugin-pre-req#1"), TIMEOUT);
            assertThat(c.read(TIMEOUT).type()).isEqualTo(A6Client.RPC_PREPARE_CONF);
        }
    }

    private void replayRequest(Recording rec, int i, Map<Integer, RunnerConnection> conns, Map<Long, Long> tokens) throws Exception {
        List<JsonNode> frames = rec.frames(i);
        boolean[] done = new boolean[frames.size()];
        for (int k = 0; k < frames.size(); k++) {
            JsonNode f = frames.get(k);
            if (done[k] || !Recording.isApisixToRunner(f)) {
                continue;
            }
            int conn = f.get("conn").asInt();
            RunnerConnection c = conns.get(conn);
            if (c == null || !c.usableForTest()) {
                c = RunnerConnection.open(runner.socket());
                conns.put(conn, c);
            }
            int type = f.get("type").asInt();
            JsonNode d = f.get("decoded");
            String at = rec.id() + " request " + i + " frame " + k;
            done[k] = true;
            // this call's frames on this connection, up to and including its final reply
            List<Integer> call = new ArrayList<>();
            for (int j = k + 1; j < frames.size(); j++) {
                if (frames.get(j).get("conn").asInt() != conn) {
                    continue;
                }
                call.add(j);
                int t = frames.get(j).get("type").asInt();
                if (!Recording.isApisixToRunner(frames.get(j)) && t != A6Client.RPC_EXTRA_INFO) {
                    break;
                }
                if (Recording.isApisixToRunner(frames.get(j)) && t != A6Client.RPC_EXTRA_INFO) {
                    call.remove(call.size() - 1);
                    break;
                }
            }
            call.forEach(j -> done[j] = true);
            JsonNode recordedReply = call.isEmpty() ? null : frames.get(call.get(call.size() - 1));
            if (recordedReply != null && (Recording.isApisixToRunner(recordedReply) || recordedReply.get("type").asInt() == 3)) {
                recordedReply = null; // APISIX gave up before the runner answered (R16) or the runner closed (R14)
            }
            switch (type) {
                case A6Client.RPC_PREPARE_CONF -> {
                    List<ConfEntry> conf = new ArrayList<>();
                    d.get("conf").forEach(e -> conf.add(new ConfEntry(e.get("name").asText(), e.get("value").asText())));
                    c.send(type, A6Client.prepareConf(conf, d.get("key").asText()), TIMEOUT);
                    RunnerConnection.Frame reply = c.read(TIMEOUT);
                    assertThat(reply.type()).as(at + " PrepareConf reply type").isEqualTo(A6Client.RPC_PREPARE_CONF);
                    tokens.put(recordedReply.get("decoded").get("conf_token").asLong(), A6Client.decodePrepareReply(reply.payload()));
                    keys.put(recordedReply.get("decoded").get("conf_token").asLong(), d.get("key").asText());
                }
                case A6Client.RPC_HTTP_REQ_CALL, A6Client.RPC_HTTP_RESP_CALL -> replayCall(rec, at, c, type, d, frames, call, recordedReply, tokens);
                default -> throw new AssertionError(at + ": unexpected APISIX frame outside a call: " + type);
            }
        }
    }

    private void replayCall(Recording rec, String at, RunnerConnection c, int type, JsonNode d, List<JsonNode> frames,
                            List<Integer> call, JsonNode recordedReply, Map<Long, Long> tokens) throws Exception {
        boolean expectTokenNotFound = recordedReply != null && recordedReply.get("type").asInt() == A6Client.RPC_ERROR
                && recordedReply.get("decoded").get("code").asInt() == 2;
        long token = expectTokenNotFound ? 0xDEADBEEFL : tokens.getOrDefault(d.get("conf_token").asLong(), 0xDEADBEEFL);
        List<A6Client.Entry> headers = entries(d.get("headers"));
        if (type == A6Client.RPC_HTTP_REQ_CALL) {
            c.send(type, A6Client.requestCall(d.get("id").asLong(), token, HexFormat.of().parseHex(d.get("src_ip_hex").asText()),
                    d.get("method").asInt(), d.get("path").asText(), entries(d.get("args")), headers), TIMEOUT);
        } else {
            c.send(type, A6Client.responseCall(d.get("id").asLong(), token, d.get("status").asInt(), headers), TIMEOUT);
        }
        // APISIX's recorded answers, by question
        Map<String, JsonNode> answers = new HashMap<>();
        List<String> recordedQuestions = new ArrayList<>();
        List<JsonNode> qs = new ArrayList<>();
        List<JsonNode> as = new ArrayList<>();
        for (int j : call) {
            JsonNode f = frames.get(j);
            if (f.get("type").asInt() == A6Client.RPC_EXTRA_INFO) {
                (Recording.isApisixToRunner(f) ? as : qs).add(f.get("decoded"));
            }
        }
        for (int q = 0; q < qs.size(); q++) {
            String key = questionKey(qs.get(q));
            recordedQuestions.add(key);
            if (q < as.size()) {
                answers.put(key, as.get(q));
            }
        }
        if (type == A6Client.RPC_HTTP_REQ_CALL && keys.getOrDefault(d.get("conf_token").asLong(), "").contains("#ext-plugin-pre-req#")) {
            byte[] ip = HexFormat.of().parseHex(d.get("src_ip_hex").asText());
            for (java.util.Iterator<String> it = recordedQuestions.iterator(); it.hasNext(); ) {
                String var = it.next();
                Optional<Optional<String>> framed = frameAnswer(var, d.get("headers"), ip);
                if (framed.isPresent()) {
                    JsonNode apisix = answers.get(var);
                    assertThat(apisix.get("result_present").asBoolean() ? Optional.of(new String(answerBytes(apisix), StandardCharsets.UTF_8))
                            : Optional.<String>empty()).as(at + ": APISIX's answer for " + var + " is what the call frame says")
                            .isEqualTo(framed.get());
                    if (var.equals("remote_addr") || var.equals("http_authorization")) {
                        it.remove();
                    }
                }
            }
        }
        List<String> asked = new ArrayList<>();
        byte[] fetchedRespBody = null;
        RunnerConnection.Frame reply;
        while (true) {
            reply = c.read(TIMEOUT);
            if (reply.type() != A6Client.RPC_EXTRA_INFO) {
                break;
            }
            A6Client.Question q = A6Client.decodeQuestion(reply.payload());
            String key = q.kind() == A6Client.Question.VAR ? q.name() : q.kind() == A6Client.Question.REQ_BODY ? "ReqBody" : "RespBody";
            asked.add(key);
            JsonNode answer = answers.get(key);
            if (answer == null) {
                assertThat(rec.id()).as(at + ": the runner asked " + key + ", which APISIX never answered").isEqualTo("R16");
                c.close(); // R16: APISIX cannot frame 17 MiB and closes the connection
                assertThat(asked).containsExactlyInAnyOrderElementsOf(recordedQuestions);
                return;
            }
            byte[] bytes = answerBytes(answer);
            if (key.equals("RespBody")) {
                fetchedRespBody = bytes;
            }
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(answer.get("result_present").asBoolean() ? bytes : null), TIMEOUT);
        }
        assertThat(asked).as(at + ": the runner asks exactly the recorded questions (in its own order)")
                .containsExactlyInAnyOrderElementsOf(recordedQuestions);
        JsonNode script = rec.script().path(type == A6Client.RPC_HTTP_REQ_CALL ? "req" : "resp");
        if (expectTokenNotFound) {
            assertThat(reply.type()).as(at + " CONF_TOKEN_NOT_FOUND for an unknown token").isEqualTo(A6Client.RPC_ERROR);
            assertThat(A6Client.decodeError(reply.payload())).isEqualTo(2);
            c.close(); // APISIX closes that connection (R7)
            return;
        }
        if (type == A6Client.RPC_HTTP_REQ_CALL) {
            assertThat(reply.type()).as(at + " reply type (recorded " + (recordedReply == null ? "none: " + script : recordedReply.get("type_name")) + ")")
                    .isEqualTo(A6Client.RPC_HTTP_REQ_CALL);
            compareRequestReply(at, script, A6Client.decodeRequestReply(reply.payload()), recordedReply, d);
        } else {
            assertThat(reply.type()).as(at + " reply type: never RPC_ERROR in the response phase").isEqualTo(A6Client.RPC_HTTP_RESP_CALL);
            compareResponseReply(at, script, A6Client.decodeResponseReply(reply.payload()), d, fetchedRespBody);
        }
    }

    private static void compareRequestReply(String at, JsonNode script, A6Client.RequestReply ours, JsonNode recordedReply, JsonNode call) {
        if (script.has("error")) {
            // difference: a plugin failure is a Stop 503 with a generic JSON body, never RPC_ERROR
            assertThat(recordedReply.get("type_name").asText()).isEqualTo("RPC_ERROR");
            assertThat(ours.actionType()).as(at + " Stop").isEqualTo(1);
            assertThat(ours.stop().status()).isEqualTo(503);
            String body = new String(ours.stop().body().orElseThrow(), StandardCharsets.UTF_8);
            assertThat(body).contains("\"error\"").contains("\"type\"").contains("\"code\"").doesNotContain("scripted error");
            return;
        }
        if (recordedReply == null || recordedReply.get("type").asInt() != A6Client.RPC_HTTP_REQ_CALL) {
            // R13 (wrong type) and R14 (close): a plugin cannot produce them; the runtime answers NONE
            assertThat(script.has("reply_type") || script.path("close").asBoolean()).as(at + ": no recorded reply").isTrue();
            assertThat(ours.actionType()).as(at + " NONE").isEqualTo(0);
            return;
        }
        JsonNode rec = recordedReply.get("decoded");
        assertThat(ours.actionType()).as(at + " action").isEqualTo(rec.get("action_type").asInt());
        if (ours.actionType() == 1) {
            JsonNode s = rec.get("stop");
            int status = s.get("status").asInt();
            assertThat(ours.stop().status()).as(at + " stop status (recorded 0 = APISIX's 200)").isEqualTo(status == 0 ? 200 : status);
            assertThat(lowerMultiset(ours.stop().headers())).as(at + " stop headers").isEqualTo(lowerMultiset(entries(s.get("headers"))));
            assertThat(ours.stop().body().map(b -> new String(b, StandardCharsets.UTF_8)).orElse(""))
                    .as(at + " stop body").isEqualTo(s.path("body_utf8").asText(""));
        } else if (ours.actionType() == 2) {
            JsonNode r = rec.get("rewrite");
            Optional<String> path = r.get("path").isNull() ? Optional.empty() : Optional.of(r.get("path").asText());
            assertThat(ours.rewrite().path()).as(at + " rewrite path (a '?' cannot be sent through the SPI)")
                    .isEqualTo(path.map(p -> p.contains("?") ? p.substring(0, p.indexOf('?')) : p));
            List<A6Client.Entry> expectedHeaders = new ArrayList<>(entries(r.get("headers")));
            if (r.hasNonNull("body_hex")) {
                expectedHeaders.add(new A6Client.Entry("content-length",
                        Integer.toString(HexFormat.of().parseHex(r.get("body_hex").asText()).length)));
            }
            assertThat(lowerMultiset(ours.rewrite().headers())).as(at + " rewrite headers (+content-length on a body rewrite)")
                    .isEqualTo(lowerMultiset(expectedHeaders));
            assertThat(multiset(ours.rewrite().args())).as(at + " rewrite args").isEqualTo(multiset(entries(r.get("args"))));
            assertThat(multiset(ours.rewrite().respHeaders())).as(at + " resp_headers").isEqualTo(multiset(entries(r.get("resp_headers"))));
            assertThat(ours.rewrite().body().map(HexFormat.of()::formatHex).orElse(null)).as(at + " rewrite body")
                    .isEqualTo(r.path("body_hex").isNull() ? null : r.path("body_hex").asText(null));
        }
    }

    /** OUR response-phase answer: a complete header set, explicit status, and the body (changed or fetched). */
    private static void compareResponseReply(String at, JsonNode script, A6Client.ResponseReply ours, JsonNode call, byte[] fetched) {
        if (script.has("error")) {
            // difference: never RPC_ERROR (APISIX would then send the original body): a safe 503
            assertThat(ours.status()).as(at + " safe error").isEqualTo(503);
            String body = new String(ours.body().orElseThrow(), StandardCharsets.UTF_8);
            assertThat(body).contains("\"error\"");
            if (fetched != null) {
                assertThat(body).doesNotContain(new String(fetched, StandardCharsets.UTF_8));
            }
            return;
        }
        int upstreamStatus = call.get("status").asInt();
        assertThat(ours.status()).as(at + " status").isEqualTo(script.has("status") ? script.get("status").asInt() : upstreamStatus);
        Optional<byte[]> body = script.has("body")
                ? Optional.of(script.get("body").asText().getBytes(StandardCharsets.UTF_8)) : Optional.ofNullable(fetched);
        assertThat(ours.body().map(HexFormat.of()::formatHex)).as(at + " body")
                .isEqualTo(body.filter(b -> b.length > 0).map(HexFormat.of()::formatHex));
        List<A6Client.Entry> expected = new ArrayList<>();
        String upstreamLength = null;
        for (A6Client.Entry e : entries(call.get("headers"))) {
            String lower = e.name().toLowerCase(Locale.ROOT);
            if (lower.equals("content-length")) {
                upstreamLength = e.value();
            }
            if (!HOP_BY_HOP.contains(lower)) {
                expected.add(e);
            }
        }
        Map<String, String> changes = new java.util.LinkedHashMap<>();
        for (JsonNode h : script.path("headers")) {
            changes.put(h.get(0).asText(), h.get(1).isNull() ? null : h.get(1).asText()); // one value per name
        }
        changes.forEach((name, value) -> {
            expected.removeIf(e -> e.name().equalsIgnoreCase(name));
            if (value != null) {
                expected.add(new A6Client.Entry(name, value));
            }
        });
        if (body.isPresent()) {
            expected.add(new A6Client.Entry("Content-Length", Integer.toString(body.get().length)));
        } else if (upstreamLength != null) {
            expected.add(new A6Client.Entry("Content-Length", upstreamLength));
        }
        assertThat(lowerMultiset(ours.headers())).as(at + " complete header set").isEqualTo(lowerMultiset(expected));
    }

    /**
     * nginx's value of {@code var} as the call frame gives it, or empty when the frame does not
     * answer it: a header var needs a list of fewer than 100 entries (APISIX cuts at 100, R11) that
     * contains the header; an absent header is not proof of a missing var (a plugin before
     * ext-plugin-pre-req may have removed lines from APISIX's cached table, H3/H4), and
     * {@code http_host} never (the frame's host is {@code $upstream_host}). Stated here
     * independently of the runtime's code: the recordings are the reference.
     */
    private static Optional<Optional<String>> frameAnswer(String var, JsonNode headers, byte[] ip) {
        if (var.equals("remote_addr")) {
            return ip.length == 4 ? Optional.of(Optional.of((ip[0] & 255) + "." + (ip[1] & 255) + "." + (ip[2] & 255) + "." + (ip[3] & 255)))
                    : Optional.empty();
        }
        if (!var.startsWith("http_") || var.equals("http_host") || headers.size() >= 100) {
            return Optional.empty();
        }
        String wanted = var.substring(5);
        List<String> values = new ArrayList<>();
        for (JsonNode h : headers) {
            if (h.get("value").isNull()) {
                return Optional.empty();
            }
            if (h.get("name").asText().toLowerCase(Locale.ROOT).replace('-', '_').equals(wanted)) {
                values.add(h.get("value").asText());
            }
        }
        return values.isEmpty() ? Optional.empty() : Optional.of(Optional.of(String.join(wanted.equals("cookie") ? "; " : ", ", values)));
    }

    private static String questionKey(JsonNode q) {
        return switch (q.get("info_type").asInt()) {
            case 1 -> q.get("name").asText();
            case 2 -> "ReqBody";
            default -> "RespBody";
        };
    }

    private static byte[] answerBytes(JsonNode a) {
        if (!a.get("result_present").asBoolean()) {
            return null;
        }
        if (a.hasNonNull("result_hex")) {
            return HexFormat.of().parseHex(a.get("result_hex").asText());
        }
        return Recording.regenerate(a.get("result_utf8_prefix").asText(), a.get("result_length").asInt(), a.get("result_sha256").asText());
    }

    private static List<A6Client.Entry> entries(JsonNode list) {
        List<A6Client.Entry> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        for (JsonNode e : list) {
            out.add(new A6Client.Entry(e.get("name").asText(), e.get("value").isNull() ? null : e.get("value").asText()));
        }
        return out;
    }

    private static List<String> multiset(List<A6Client.Entry> entries) {
        List<String> out = new ArrayList<>();
        for (A6Client.Entry e : entries) {
            out.add(e.name() + "=" + e.value());
        }
        out.sort(null);
        return out;
    }

    private static List<String> lowerMultiset(List<A6Client.Entry> entries) {
        List<String> out = new ArrayList<>();
        for (A6Client.Entry e : entries) {
            out.add(e.name().toLowerCase(Locale.ROOT) + "=" + e.value());
        }
        out.sort(null);
        return out;
    }
}
