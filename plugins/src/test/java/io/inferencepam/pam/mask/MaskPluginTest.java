package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class MaskPluginTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String CHAT = """
        {"id":"chatcmpl-42","object":"chat.completion","created":1715524382,"model":"gpt-4o",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Reach Jane at jane.roe@example.org or +1 415 555 0132. Card 4111 1111 1111 1111.",
           "tool_calls":[{"id":"call_1","type":"function","function":{"name":"send","arguments":"{\\"to\\":\\"jane.roe@example.org\\",\\"amount\\":12.50,\\"note\\":\\"ok\\"}"}}]},
           "logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"cost":1.50}}""";

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void masksJsonStringsOnlyAndKeepsShape() throws Exception {
        Plugin p = plugin("{\"count_header\":true}");
        CallContext ctx = context();
        HttpResponse out = run(p, response("application/json", utf8(CHAT)), ctx);
        String body = bodyOf(out);
        assertThat(body).doesNotContain("jane.roe@example.org", "555 0132", "4111 1111")
                .contains("[EMAIL]", "[PHONE]", "[CARD]", "\"cost\":1.50", "\"created\":1715524382");
        JsonNode before = M.readTree(CHAT);
        JsonNode after = M.readTree(body);
        assertThat(fieldPaths(after)).isEqualTo(fieldPaths(before));
        JsonNode args = M.readTree(after.at("/choices/0/message/tool_calls/0/function/arguments").asText());
        assertThat(args.get("to").asText()).isEqualTo("[EMAIL]");
        assertThat(args.get("amount").decimalValue()).isEqualByComparingTo("12.50");
        assertThat(out.headers().first("x-pam-masked")).contains("email=2,phone=1,card=1");
        assertThat(CallFacts.of(ctx).maskedCounts()).containsEntry("email", 2).containsEntry("card", 1);
        assertThat(CallFacts.of(ctx).decisions()).extracting(Decision::outcome).containsExactly(Decision.Outcome.MASK);
    }

    static List<String> fieldPaths(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        walk(n, "", out);
        return out;
    }

    static void walk(JsonNode n, String path, List<String> out) {
        out.add(path + ":" + n.getNodeType());
        if (n.isObject()) {
            n.properties().forEach(e -> walk(e.getValue(), path + "/" + e.getKey(), out));
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                walk(n.get(i), path + "/" + i, out);
            }
        }
    }

    @Test
    void cleanResponseIsUntouchedByteForByte() {
        String clean = "{ \"choices\": [ {\"message\": {\"content\": \"Order 8812-4471-0093 ships 2024-05-12, v1.2.3\"}} ], \"x\": 1.0e3 }";
        HttpResponse in = response("application/json", utf8(clean));
        HttpResponse out = run(plugin("{}"), in, context());
        assertThat(out).isEqualTo(in);
    }

    @Test
    void sseValueSplitAcrossEventsLeavesNoFragment() {
        String[] pieces = {"Email ", "jo", "hn.s", "mith@exa", "mple.com", " or card 4111 ", "1111 1111", " 1111", "."};
        StringBuilder sse = new StringBuilder();
        for (String piece : pieces) {
            sse.append("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                    .append(M.valueToTree(piece).toString()).append("},\"finish_reason\":null}]}\n\n");
        }
        sse.append("data: [DONE]\n\n");
        HttpResponse out = run(plugin("{}"), response("text/event-stream", utf8(sse.toString())), context());
        String body = bodyOf(out);
        assertThat(body).doesNotContain("jo\"", "hn.s", "mith", "mple.com", "1111").endsWith("data: [DONE]\n\n");
        StringBuilder text = new StringBuilder();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: {")) {
                text.append(readContent(line.substring(6)));
            }
        }
        assertThat(text.toString()).isEqualTo("Email [EMAIL] or card [CARD].");
    }

    static String readContent(String json) {
        try {
            return M.readTree(json).at("/choices/0/delta/content").asText();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void sseToolCallArgumentsAreMaskedAsJson() throws Exception {
        String[] args = {"{\"email\":\"a", "lice@exam", "ple.com\",\"n\":3}"};
        StringBuilder sse = new StringBuilder();
        for (String a : args) {
            sse.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":")
                    .append(M.valueToTree(a).toString()).append("}}]}}]}\n\n");
        }
        sse.append("data: [DONE]\n\n");
        String body = bodyOf(run(plugin("{}"), response("text/event-stream", utf8(sse.toString())), context()));
        assertThat(body).doesNotContain("lice", "exam");
        StringBuilder joined = new StringBuilder();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: {")) {
                joined.append(M.readTree(line.substring(6)).at("/choices/0/delta/tool_calls/0/function/arguments").asText());
            }
        }
        assertThat(M.readTree(joined.toString())).isEqualTo(M.readTree("{\"email\":\"[EMAIL]\",\"n\":3}"));
    }

    @Test
    void decodesGzipAndDeflateAndDropsContentEncoding() throws Exception {
        for (String coding : List.of("gzip", "deflate")) {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (var z = coding.equals("gzip") ? new GZIPOutputStream(bo) : new DeflaterOutputStream(bo, new Deflater())) {
                z.write(utf8(CHAT));
            }
            HttpResponse out = run(plugin("{}"), response("application/json", bo.toByteArray(), "Content-Encoding", coding), context());
            assertThat(out.headers().contains("content-encoding")).isFalse();
            assertThat(bodyOf(out)).contains("[EMAIL]").doesNotContain("jane.roe");
        }
    }

    @Test
    void failsClosedOnUnknownEncodingInvalidJsonOversizeAndBinary() {
        assertFailsClosed(plugin("{}"), response("application/json", utf8(CHAT), "Content-Encoding", "br"), 502, "response_encoding_unsupported");
        assertFailsClosed(plugin("{}"), response("application/json", utf8("{\"a\":\"jane@example.org\"")), 502, "response_unscannable");
        String big = "{\"a\":\"" + "x".repeat(2000) + " jane@example.org\"}";
        assertFailsClosed(plugin("{\"max_body_bytes\":1024}"), response("application/json", utf8(big)), 502, "response_too_large_to_inspect");
        assertFailsClosed(plugin("{}"), response("image/png", new byte[] {(byte) 0x89, 'P', 'N', 'G'}), 502, "response_unscannable");
        assertFailsClosed(plugin("{}"), response("text/plain", new byte[] {'a', (byte) 0xff, 'b'}), 502, "response_unscannable");
        HttpResponse twoTypes = new HttpResponse(7, 200, io.inferencepam.runner.spi.Headers.of(
                "Content-Type", "application/octet-stream", "Content-Type", "application/json"),
                io.inferencepam.runner.spi.Vars.empty(), java.util.Optional.of(io.inferencepam.runner.spi.Body.utf8("{\"a\":\"jane@example.org\"}")));
        assertFailsClosed(plugin("{\"unscannable\":\"pass\"}"), twoTypes, 502, "response_unscannable");
        String nested = "[".repeat(5000) + "]".repeat(5000);
        assertFailsClosed(plugin("{}"), response("application/json", utf8(nested)), 502, "response_unscannable");
        // gzip bomb: 64 MiB of zeros declared as gzip
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (var z = new GZIPOutputStream(bo)) {
            z.write(new byte[64 << 20]);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertFailsClosed(plugin("{}"), response("application/json", bo.toByteArray(), "Content-Encoding", "gzip"), 502, "response_too_large_to_inspect");
    }

    @Test
    void passesBinaryOnlyWhenConfigured() {
        HttpResponse in = response("image/png", new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        assertThat(run(plugin("{\"unscannable\":\"pass\"}"), in, context())).isEqualTo(in);
    }

    static void assertFailsClosed(Plugin p, HttpResponse in, int status, String code) {
        CallContext ctx = context();
        HttpResponse out = run(p, in, ctx);
        assertThat(out.status()).isEqualTo(status);
        assertThat(out.headers().first("content-type")).contains("application/json");
        assertThat(out.headers().contains("content-encoding")).isFalse();
        String body = bodyOf(out);
        assertThat(body).contains("\"code\":\"" + code + "\"").doesNotContain("jane", "example.org", "4111");
        assertThat(CallFacts.of(ctx).decisions()).extracting(Decision::outcome).containsExactly(Decision.Outcome.ERROR);
    }

    @Test
    void blockReplacesTheWholeResponse() {
        Plugin p = plugin("{\"detectors\":{\"card\":{\"action\":\"block\"}},\"block_status\":451}");
        CallContext ctx = context();
        HttpResponse out = run(p, response("application/json", utf8(CHAT)), ctx);
        assertThat(out.status()).isEqualTo(451);
        assertThat(bodyOf(out)).contains("response_blocked_sensitive_data").doesNotContain("jane", "4111");
        assertThat(CallFacts.of(ctx).decisions()).extracting(Decision::ruleId).containsExactly("card");
    }

    @Test
    void partialAndHashActions() {
        Plugin p = plugin("{\"detectors\":{\"card\":{\"action\":\"partial\",\"keep\":4},\"email\":{\"action\":\"hash\"}}}");
        String text = "a jane.roe@example.org b jane.roe@example.org c 4111 1111 1111 1111 d other@example.org";
        String out = bodyOf(run(p, response("text/plain", utf8(text)), context()));
        assertThat(out).matches("a \\[EMAIL:([0-9a-f]{8})\\] b \\[EMAIL:\\1\\] c \\[CARD:\\*\\*\\*\\*1111\\] d \\[EMAIL:[0-9a-f]{8}\\]");
        assertThat(out.substring(0, 17)).isNotEqualTo(out.substring(out.length() - 16));
        // another key → other tokens (key rotation)
        Plugin other = plugin("{\"detectors\":{\"email\":{\"action\":\"hash\"}}}", Map.of("PAM_MASK_HMAC_KEY", "ffffffffffffffffffffffff"));
        String out2 = bodyOf(run(other, response("text/plain", utf8("jane.roe@example.org")), context()));
        assertThat(out).doesNotContain(out2);
    }

    @Test
    void hashWithoutKeyFailsAtPrepareConfWithoutLeakingTheKey() {
        assertThatThrownBy(() -> compiler(Map.of()).compile("route#r1#ext-plugin-post-resp#1",
                List.of(new Header("pam-mask", "{\"detectors\":{\"email\":{\"action\":\"hash\"}}}")), 1))
                .isInstanceOf(InvalidConfsException.class).hasMessageContaining("PAM_MASK_HMAC_KEY");
        assertThatThrownBy(() -> compiler(Map.of("PAM_MASK_HMAC_KEY", "short-secret")).compile("route#r1#ext-plugin-post-resp#1",
                List.of(new Header("pam-mask", "{\"default_action\":\"hash\"}")), 1))
                .isInstanceOf(InvalidConfsException.class).hasMessageNotContaining("short-secret");
    }

    /** The masked body is held to max_body_bytes too: tokens can be longer than what they replace. */
    @Test
    void aBodyThatGrowsPastMaxBodyBytesByMaskingFailsClosed() {
        String conf = "{\"max_body_bytes\":1024,\"custom\":[{\"name\":\"single_digit_identifier\",\"regex\":\"[0-9]\"}]}";
        String body = "1 ".repeat(500); // 1000 bytes, each digit becomes a 25-byte token
        assertFailsClosed(plugin(conf), response("text/plain", utf8(body)), 502, "masked_response_too_large");
        assertThat(bodyOf(run(plugin(conf), response("text/plain", utf8("1 ".repeat(20))), context())))
                .startsWith("[SINGLE_DIGIT_IDENTIFIER] ");
    }

    @Test
    void maxBodyBytesLeavesRoomForTheReplyInOneFrame() {
        assertThat(plugin("{\"max_body_bytes\":16711680}")).isNotNull();
        assertThatThrownBy(() -> plugin("{\"max_body_bytes\":16711681}")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> plugin("{\"max_body_bytes\":16777215}")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void invalidConfsAreRejected() {
        for (String bad : List.of("{\"detectors\":{\"nope\":{}}}", "{\"custom\":[{\"name\":\"x\",\"regex\":\"(a)\\\\1\"}]}",
                "{\"custom\":[{\"name\":\"email\",\"regex\":\"a\"}]}", "{\"custom\":[{\"name\":\"x\"}]}", "{\"max_body_bytes\":1}")) {
            assertThatThrownBy(() -> plugin(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void customDetectorsAndAllowList() {
        Plugin p = plugin("{\"allow\":[\"support@example.com\"],\"custom\":[{\"name\":\"ticket\",\"regex\":\"TCK-[0-9]{6}\"},"
                + "{\"name\":\"codename\",\"dictionary\":[\"Project Falcon\"]}]}");
        String out = bodyOf(run(p, response("text/plain", utf8("support@example.com: TCK-123456 for project falcon by bob@example.com")), context()));
        assertThat(out).isEqualTo("support@example.com: [TICKET] for [CODENAME] by [EMAIL]");
    }

    @Test
    void requestPhaseDropsAcceptEncoding() {
        Plugin p = plugin("{}");
        HttpRequest req = new HttpRequest(1, "POST", "/v1/chat/completions", Headers.empty(),
                Headers.of("accept-encoding", "gzip, br"), "10.0.0.7", Vars.empty(), Optional.empty());
        RequestDecision d = p.onRequest(req, context()).toCompletableFuture().join();
        assertThat(d).isInstanceOf(RequestDecision.Proceed.class);
        var headers = ((RequestDecision.Proceed) d).rewrite().headers();
        assertThat(headers).containsEntry("accept-encoding", null);
        assertThat(p.requirements(io.inferencepam.runner.spi.Phase.RESPONSE).responseBody()).isTrue();
    }

    @Test
    void sseWithTextPlainContentTypeIsSniffed() {
        String sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ip 10.1.2.3\"}}]}\n\ndata: [DONE]\n\n";
        String out = bodyOf(run(plugin("{}"), response("text/plain; charset=utf-8", utf8(sse)), context()));
        assertThat(out).contains("[IPV4]").doesNotContain("10.1.2.3");
    }

    @Test
    void logprobsWithAMaskedValueFailClosedButCleanLogprobsPass() {
        String withPii = "{\"choices\":[{\"message\":{\"content\":\"mail jane@example.org\"},\"logprobs\":{\"content\":["
                + "{\"token\":\"mail\",\"logprob\":-0.1},{\"token\":\" jane\",\"logprob\":-0.2},{\"token\":\"@example\",\"logprob\":-0.3}]}}]}";
        assertFailsClosed(plugin("{}"), response("application/json", utf8(withPii)), 502, "response_logprobs_unmaskable");
        String sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jane@exa\"},\"logprobs\":{\"content\":[{\"token\":\"jane\"}]}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"mple.org\"},\"logprobs\":null}]}\n\n";
        assertFailsClosed(plugin("{}"), response("text/event-stream", utf8(sse)), 502, "response_logprobs_unmaskable");
        String clean = "{\"choices\":[{\"message\":{\"content\":\"hello\"},\"logprobs\":{\"content\":[{\"token\":\"hello\"}]}}]}";
        HttpResponse in = response("application/json", utf8(clean));
        assertThat(run(plugin("{}"), in, context())).isEqualTo(in);
    }
}
