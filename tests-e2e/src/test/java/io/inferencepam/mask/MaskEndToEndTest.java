package io.inferencepam.mask;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * pam-mask through the real runner process, driven over its Unix socket the way APISIX drives it
 * (pre-req + post-resp on the same route), with a real HTTP upstream scripting model responses.
 */
class MaskEndToEndTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String HMAC_KEY = "e2e-hmac-key-0123456789abcdef";
    static final String CHAT = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
            + "{\"role\":\"assistant\",\"content\":\"Mail jane.roe@example.org, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE.\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"total_tokens\":21}}";

    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start(Map.of("PAM_MASK_HMAC_KEY", HMAC_KEY));
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
    }

    @AfterAll
    static void stop() throws Exception {
        driver.close();
        upstream.close();
        runner.close();
    }

    static RouteConf route(String id, String conf) {
        // the same conf in both phases, as docs/plugins/pam-mask.md asks
        return RouteConf.builder(id).preReq(new ConfEntry("pam-mask", conf)).postResp(new ConfEntry("pam-mask", conf)).build();
    }

    static ClientRequest chatRequest() {
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Content-Type", "application/json").header("Accept-Encoding", "gzip, br")
                .body("{\"model\":\"m\",\"messages\":[]}").build();
    }

    static List<HttpHeader> json(String... more) {
        List<HttpHeader> h = new ArrayList<>(List.of(new HttpHeader("Content-Type", "application/json")));
        for (int i = 0; i + 1 < more.length; i += 2) {
            h.add(new HttpHeader(more[i], more[i + 1]));
        }
        return h;
    }

    @Test
    void jsonResponseIsMaskedAndAcceptEncodingNeverReachesTheUpstream() throws Exception {
        upstream.respondWith(200, json(), CHAT);
        GatewayResult r = driver.call(route("mask-json", "{\"count_header\":true}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.upstreamRequests()).isNotEmpty();
        assertThat(r.upstreamRequests()).allSatisfy(u -> assertThat(u.header("accept-encoding")).isEmpty());
        assertThat(r.header("content-type")).startsWith("application/json");
        assertThat(r.header("x-pam-masked")).isEqualTo("email=1,card=1,aws_access_key=1");
        JsonNode body = M.readTree(r.body());
        assertThat(body.at("/choices/0/message/content").asText())
                .isEqualTo("Mail [EMAIL], card [CARD], key [AWS_ACCESS_KEY].");
        assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(21);
    }

    /** A Gemini streamGenerateContent (alt=sse) event carrying {@code text}: a stream shape pam-mask does not know. */
    static String geminiEvent(String text) throws Exception {
        return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":" + M.writeValueAsString(text)
                + "}],\"role\":\"model\"},\"index\":0}],\"modelVersion\":\"gemini-2.0-flash\"}";
    }

    @Test
    void sseStreamOfAnUnknownShapeWithAValueSplitAcrossEventsIsWithheld() throws Exception {
        String[] pieces = {"Schreiben Sie an ana.we", "ber@firma.de oder Karte 4111 11", "11 1111 1111, Key sk-proj-Ab3dEf5hIj7l",
            "Mn9pQr1tUv3xYz5Ab3dEf5hIj7l7 danke."};
        List<String> events = new ArrayList<>();
        for (String p : pieces) {
            events.add(geminiEvent(p));
        }
        upstream.respondSse(events, Duration.ofMillis(5));
        GatewayResult r = driver.call(route("mask-sse-unknown", "{}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(502);
        assertThat(r.header("content-type")).startsWith("application/json");
        JsonNode body = M.readTree(r.body());
        assertThat(body.at("/error/code").asText()).isEqualTo("response_stream_shape_unknown");
        assertThat(r.bodyUtf8()).doesNotContain("ana.we", "firma", "4111", "sk-pr", "Ab3dEf", "Mn9pQr");
    }

    @Test
    void sseStreamOfAnUnknownShapeWithWholeValuesIsMaskedPerEvent() throws Exception {
        String[] pieces = {"Schreiben Sie an ", "ana.weber@firma.de", " oder Karte ", "4111 1111 1111 1111", " danke."};
        List<String> events = new ArrayList<>();
        for (String p : pieces) {
            events.add(geminiEvent(p));
        }
        upstream.respondSse(events, Duration.ofMillis(5));
        GatewayResult r = driver.call(route("mask-sse-unknown-whole", "{}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (String line : r.bodyUtf8().split("\n")) {
            if (line.startsWith("data: {")) {
                text.append(M.readTree(line.substring(6)).at("/candidates/0/content/parts/0/text").asText());
            }
        }
        assertThat(text.toString()).isEqualTo("Schreiben Sie an [EMAIL] oder Karte [CARD] danke.");
    }

    @Test
    void sseStreamWithValuesSplitAcrossEventsIsMasked() throws Exception {
        String[] pieces = {"Your key is sk-pr", "oj-Ab3dEf5hIj7l", "Mn9pQr1tUv3xYz5 and mail ", "bo", "b@exam", "ple.com", " ok"};
        List<String> events = new ArrayList<>();
        for (String p : pieces) {
            events.add("{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + M.writeValueAsString(p) + "}}]}");
        }
        events.add("[DONE]");
        upstream.respondSse(events, Duration.ofMillis(5));
        GatewayResult r = driver.call(route("mask-sse", "{}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        String body = r.bodyUtf8();
        assertThat(body).doesNotContain("sk-pr", "Ab3dEf", "Mn9pQr", "b@exam", "ple.com").endsWith("data: [DONE]\n\n");
        assertThat(r.header("content-type")).startsWith("text/event-stream");
        StringBuilder text = new StringBuilder();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: {")) {
                text.append(M.readTree(line.substring(6)).at("/choices/0/delta/content").asText());
            }
        }
        assertThat(text.toString()).isEqualTo("Your key is [OPENAI_KEY] and mail [EMAIL] ok");
    }

    /** A model asked to begin with "data: ok" made the rest of a plain-text answer look like SSE lines, which were copied unscanned. */
    @Test
    void plainTextThatStartsLikeAnEventStreamIsMaskedToTheLastLine() throws Exception {
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "text/plain; charset=utf-8")),
                "data: ok\nMy mail is john.doe@example.com and card 4111 1111 1111 1111\n: note 123-45-6789\n".getBytes(StandardCharsets.UTF_8));
        GatewayResult r = driver.call(route("mask-sse-lookalike", "{}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.bodyUtf8()).isEqualTo("data: ok\nMy mail is [EMAIL] and card [CARD]\n: note [SSN]\n");
    }

    @Test
    void gzipResponseIsDecodedMaskedAndSentPlain() throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(bo)) {
            z.write(CHAT.getBytes(StandardCharsets.UTF_8));
        }
        upstream.respondWith(200, json("Content-Encoding", "gzip"), bo.toByteArray());
        GatewayResult r = driver.call(route("mask-gzip", "{\"detectors\":{\"email\":{\"action\":\"hash\"}}}"), chatRequest(), upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.headerOpt("content-encoding")).isEmpty();
        String content = M.readTree(r.body()).at("/choices/0/message/content").asText();
        assertThat(content).matches("Mail \\[EMAIL:[0-9a-f]{8}\\], card \\[CARD\\], key \\[AWS_ACCESS_KEY\\]\\.");
    }

    @Test
    void unknownEncodingAndBlockFailClosedWithoutTheOriginalBody() throws Exception {
        upstream.respondWith(200, json("Content-Encoding", "br"), CHAT);
        GatewayResult r = driver.call(route("mask-br", "{}"), chatRequest(), upstream);
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.bodyUtf8()).contains("response_encoding_unsupported").doesNotContain("jane", "4111");

        upstream.respondWith(200, json(), CHAT);
        r = driver.call(route("mask-block", "{\"detectors\":{\"aws_access_key\":{\"action\":\"block\"}}}"), chatRequest(), upstream);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.header("content-type")).startsWith("application/json");
        assertThat(r.bodyUtf8()).contains("response_blocked_sensitive_data").doesNotContain("jane", "4111", "AKIA");
    }

    /**
     * A second runner without PAM_MASK_HMAC_KEY: a conf using hash fails PrepareConf (503, never
     * unmasked). Then that runner dies: with pam-mask also in pre-req, the call stops before the
     * upstream (conformance R9), so the upstream body can never be sent unmasked (P10).
     */
    @Test
    void missingHmacKeyFailsPrepareConfAndADeadRunnerNeverReachesTheUpstream() throws Exception {
        RunnerProcess second = RunnerProcess.start(Map.of());
        try (ApisixDriver d = new ApisixDriver(second.socket())) {
            GatewayResult r = d.call(route("mask-nokey", "{\"default_action\":\"hash\"}"), chatRequest(), upstream);
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.upstreamRequests()).as("the pre-req PrepareConf fails first").isEmpty();
            assertThat(second.log()).contains("PAM_MASK_HMAC_KEY");

            second.stop();
            upstream.clear();
            upstream.respondAlways(EchoUpstream.Response.of(200, json(), CHAT.getBytes(StandardCharsets.UTF_8)));
            try {
                r = d.call(route("mask-dead", "{}"), chatRequest(), upstream);
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.bodyUtf8()).doesNotContain("jane");
                assertThat(r.upstreamRequests()).isEmpty();
            } finally {
                upstream.respondAlways(null);
            }
        } finally {
            second.close();
        }
    }
}
