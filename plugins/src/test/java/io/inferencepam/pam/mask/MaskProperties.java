package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Generated secrets and PII embedded at random positions — in JSON strings, in tool-call
 * arguments, split across random SSE event boundaries — never survive, not even as a 5-character
 * fragment; everything around them is unchanged; non-sensitive text passes byte for byte.
 */
class MaskProperties {
    static final ObjectMapper M = new ObjectMapper();
    static final Plugin PLUGIN = plugin("{}");
    static final String[] WORDS = ("the model answered quickly and its summary lists three items for review today while "
            + "others wait here please note that shipping takes about one week depending on region").split(" ");
    static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /** A generated sensitive value and the token it must become. */
    record Secret(String value, String token) {
    }

    @Provide
    Arbitrary<Long> seeds() {
        return Arbitraries.longs();
    }

    static Secret secret(Random r) {
        return switch (r.nextInt(11)) {
            case 0 -> new Secret(letters(r, 3 + r.nextInt(6)) + (r.nextBoolean() ? "." + letters(r, 4) : "") + "@"
                    + letters(r, 3 + r.nextInt(6)) + "." + pick(r, "com", "org", "io", "de"), "[EMAIL]");
            case 1 -> new Secret(card(r), "[CARD]");
            case 2 -> new Secret(iban(r), "[IBAN]");
            case 3 -> new Secret(String.format("%03d-%02d-%04d", 1 + r.nextInt(665), 1 + r.nextInt(99), 1 + r.nextInt(9999)), "[SSN]");
            case 4 -> new Secret("AKIA" + chars(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "[AWS_ACCESS_KEY]");
            case 5 -> new Secret("ghp_" + chars(r, ALNUM, 36), "[GITHUB_TOKEN]");
            case 6 -> new Secret("sk-proj-" + chars(r, ALNUM, 40) + r.nextInt(10), "[OPENAI_KEY]");
            case 7 -> new Secret("xoxb-" + chars(r, "0123456789", 12) + "-" + chars(r, "0123456789", 13) + "-" + chars(r, ALNUM, 24), "[SLACK_TOKEN]");
            case 8 -> new Secret(jwt(r), "[JWT]");
            // not 127/8 (loopback) nor 192/8, 198/8, 203/8 (documentation ranges): those are not personal by default
            case 9 -> new Secret(pick(r, "84", "91", "146", "185", "213", "10", "172", "62") + "." + r.nextInt(256) + "."
                    + r.nextInt(256) + "." + r.nextInt(256), "[IPV4]");
            default -> new Secret(r.nextBoolean() ? "+44 20 7946 " + chars(r, "0123456789", 4)
                    : "(212) " + (200 + r.nextInt(800)) + "-" + chars(r, "0123456789", 4), "[PHONE]");
        };
    }

    static String card(Random r) {
        int kind = r.nextInt(3);
        String prefix = kind == 0 ? "4" : kind == 1 ? "5" + (1 + r.nextInt(5)) : "37";
        int len = kind == 2 ? 15 : 16;
        StringBuilder d = new StringBuilder(prefix);
        while (d.length() < len - 1) {
            d.append(r.nextInt(10));
        }
        for (int check = 0; check < 10; check++) {
            String candidate = d.toString() + check;
            if (luhn(candidate)) {
                d.append(check);
                break;
            }
        }
        String digits = d.toString();
        char sep = pick(r, " ", "-", "").isEmpty() ? 0 : (r.nextBoolean() ? ' ' : '-');
        if (sep == 0) {
            return digits;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < digits.length(); i++) {
            if (i > 0 && i % 4 == 0) {
                out.append(sep);
            }
            out.append(digits.charAt(i));
        }
        return out.toString();
    }

    static boolean luhn(String digits) {
        int sum = 0;
        for (int k = 0; k < digits.length(); k++) {
            int v = digits.charAt(digits.length() - 1 - k) - '0';
            if ((k & 1) == 1) {
                v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            }
            sum += v;
        }
        return sum % 10 == 0;
    }

    static String iban(Random r) {
        String bban = chars(r, "0123456789", 18);
        String rearranged = bban + "1314" + "00"; // D=13, E=14
        int rem = 0;
        for (char c : rearranged.toCharArray()) {
            rem = (rem * 10 + (c - '0')) % 97;
        }
        String iban = "DE" + String.format("%02d", 98 - rem) + bban;
        if (r.nextBoolean()) {
            return iban;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < iban.length(); i++) {
            if (i > 0 && i % 4 == 0) {
                out.append(' ');
            }
            out.append(iban.charAt(i));
        }
        return out.toString();
    }

    static String jwt(Random r) {
        Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
        byte[] sig = new byte[32];
        r.nextBytes(sig);
        return b.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b.encodeToString(("{\"sub\":\"" + letters(r, 8) + "\",\"iat\":" + r.nextInt(1 << 30) + "}").getBytes(StandardCharsets.UTF_8))
                + "." + b.encodeToString(sig);
    }

    static String letters(Random r, int n) {
        return chars(r, "abcdefghijklmnopqrstuvwxyz", n);
    }

    static String chars(Random r, String alphabet, int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    static String pick(Random r, String... options) {
        return options[r.nextInt(options.length)];
    }

    static String filler(Random r, int words) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    /** Text with one or more secrets at random positions, and what it must become. */
    record Sample(String text, String expected, List<Secret> secrets) {
    }

    static Sample sample(Random r) {
        StringBuilder text = new StringBuilder();
        StringBuilder expected = new StringBuilder();
        List<Secret> secrets = new ArrayList<>();
        String f = filler(r, r.nextInt(6));
        text.append(f);
        expected.append(f);
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            Secret s = secret(r);
            secrets.add(s);
            String sep = pick(r, " ", "\n", ": ", " (");
            String after = sep.equals(" (") ? ") " : pick(r, " ", ", ", ".\n");
            String tail = filler(r, 1 + r.nextInt(5));
            text.append(sep).append(s.value()).append(after).append(tail);
            expected.append(sep).append(s.token()).append(after).append(tail);
        }
        return new Sample(text.toString(), expected.toString(), secrets);
    }

    /**
     * No 5-character fragment of a secret is in {@code output}, unless it is also in {@code legit}:
     * what the output must contain anyway (the envelope, the filler, the placeholders). A generated
     * value can share 5 characters with those ("jnrgy@fquery.com" and the key "query", "t.com" and
     * "chat.completion.chunk"); such a fragment proves nothing.
     */
    static void assertNoFragment(String output, String legit, List<Secret> secrets) {
        for (Secret s : secrets) {
            for (int i = 0; i + 5 <= s.value().length(); i++) {
                String frag = s.value().substring(i, i + 5);
                if (frag.chars().anyMatch(Character::isLetterOrDigit) && !legit.contains(frag)) {
                    assertThat(output).as("fragment of %s", s.token()).doesNotContain(frag);
                }
            }
        }
    }

    static String mask(String contentType, String body) {
        HttpResponse out = run(PLUGIN, response(contentType, body.getBytes(StandardCharsets.UTF_8)), context());
        return bodyOf(out);
    }

    @Property(tries = 300)
    void secretsInJsonStringsAreReplacedAndNothingElseChanges(@ForAll("seeds") long seed) throws Exception {
        Random r = new Random(seed);
        Sample s = sample(r);
        ObjectNode doc = M.createObjectNode();
        doc.put("id", "chatcmpl-" + seed).put("created", 1715524382);
        doc.putArray("choices").addObject().put("index", 0).putObject("message").put("role", "assistant").put("content", s.text());
        doc.putObject("usage").put("total_tokens", 42).put("cost", new java.math.BigDecimal("0.10"));
        String out = mask("application/json", M.writeValueAsString(doc));
        JsonNode after = M.readTree(out);
        // the other members hold fixed numbers; the tree comparison below pins them exactly
        assertNoFragment(after.at("/choices/0/message/content").asText(), s.expected(), s.secrets());
        ObjectNode expected = doc.deepCopy();
        ((ObjectNode) expected.at("/choices/0/message")).put("content", s.expected());
        assertThat(after).isEqualTo(M.readTree(M.writeValueAsString(expected)));
        assertThat(out).contains("\"cost\":0.10");
    }

    @Property(tries = 200)
    void secretsInToolCallArgumentsAreMaskedAsJson(@ForAll("seeds") long seed) throws Exception {
        Random r = new Random(seed);
        Sample s = sample(r);
        String out = mask("application/json", toolCall(s.text()));
        assertNoFragment(out, toolCall(s.expected()), s.secrets());
        JsonNode masked = M.readTree(M.readTree(out).at("/choices/0/message/tool_calls/0/function/arguments").asText());
        assertThat(masked.get("query").asText()).isEqualTo(s.expected());
        assertThat(masked.get("tags").get(0).asText()).isEqualTo(s.expected());
        assertThat(masked.get("limit").asInt()).isEqualTo(5);
    }

    static String toolCall(String text) throws Exception {
        ObjectNode args = M.createObjectNode().put("query", text).put("limit", 5);
        args.putArray("tags").add(text);
        ObjectNode doc = M.createObjectNode();
        doc.putArray("choices").addObject().putObject("message").putArray("tool_calls").addObject()
                .put("id", "call_1").putObject("function").put("name", "lookup").put("arguments", M.writeValueAsString(args));
        return M.writeValueAsString(doc);
    }

    @Property(tries = 300)
    void secretsSplitAcrossSseEventsLeaveNoFragmentInAnyEvent(@ForAll("seeds") long seed) throws Exception {
        Random r = new Random(seed);
        Sample s = sample(r);
        String text = s.text();
        TreeSet<Integer> cuts = new TreeSet<>();
        int pieces = 1 + r.nextInt(Math.min(40, text.length()));
        while (cuts.size() < pieces - 1) {
            cuts.add(1 + r.nextInt(Math.max(1, text.length() - 1)));
        }
        List<String> parts = new ArrayList<>();
        int prev = 0;
        for (int c : cuts) {
            parts.add(text.substring(prev, c));
            prev = c;
        }
        parts.add(text.substring(prev));
        String out = mask("text/event-stream", sseStream(parts));
        assertNoFragment(out, sseStream(List.of()) + s.expected(), s.secrets());
        assertThat(out).startsWith(": keep-alive comment\n\n").endsWith("event: usage\ndata: {\"usage\":{\"total_tokens\":9}}\n\ndata: [DONE]\n\n");
        StringBuilder joined = new StringBuilder();
        int events = 0;
        for (String line : out.split("\n")) {
            if (line.startsWith("data: {\"id\"")) {
                events++;
                joined.append(M.readTree(line.substring(6)).at("/choices/0/delta/content").asText());
            }
        }
        assertThat(events).isEqualTo(parts.size() + 1);
        assertThat(joined.toString()).isEqualTo(s.expected());
    }

    static String sseStream(List<String> parts) throws Exception {
        StringBuilder sse = new StringBuilder(": keep-alive comment\n\n");
        sse.append("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
        for (String part : parts.isEmpty() ? List.of("") : parts) {
            sse.append("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                    .append(M.writeValueAsString(part)).append("},\"finish_reason\":null}]}\n\n");
        }
        return sse.append("event: usage\ndata: {\"usage\":{\"total_tokens\":9}}\n\ndata: [DONE]\n\n").toString();
    }

    /** JSON string token for {@code s}, with some characters written as random \\u escapes. */
    static String jsonToken(Random r, String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\' || c < 0x20 || r.nextInt(8) == 0) {
                sb.append(String.format(r.nextBoolean() ? "\\u%04x" : "\\u%04X", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /**
     * Framing variants (CRLF, "data:" without a space, comments and id lines inside events, the
     * index before or after the delta, \\u escapes, extra spaces): no fragment survives, every byte
     * outside the content strings is unchanged, a content string that was not touched keeps its
     * exact escapes, and the contents joined are the expected masked text.
     */
    @Property(tries = 300)
    void sseFramingVariantsAreRewrittenOnlyInsideTheContentStrings(@ForAll("seeds") long seed) throws Exception {
        Random r = new Random(seed);
        Sample s = sample(r);
        String text = s.text();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < text.length(); ) {
            int len = 1 + r.nextInt(12);
            parts.add(text.substring(i, Math.min(text.length(), i + len)));
            i += len;
        }
        String eol = r.nextBoolean() ? "\r\n" : "\n";
        String data = r.nextBoolean() ? "data: " : "data:";
        List<String> before = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<String> after = new ArrayList<>();
        StringBuilder sse = new StringBuilder();
        for (String part : parts) {
            boolean indexFirst = r.nextBoolean();
            String head = (r.nextInt(4) == 0 ? ": note" + eol : "") + (r.nextInt(4) == 0 ? "id: " + r.nextInt(99) + eol : "") + data
                    + "{\"id\":\"c1\", \"choices\":[{" + (indexFirst ? "\"index\":0," : "") + "\"delta\": {\"content\":";
            String tail = "}" + (indexFirst ? "" : " ,\"index\":0") + "}],\"n\":1.50}" + eol + eol;
            String token = jsonToken(r, part);
            before.add(head);
            tokens.add(token);
            after.add(tail);
            sse.append(head).append(token).append(tail);
        }
        sse.append(data).append("[DONE]").append(eol).append(eol);
        String out = mask("text/event-stream", sse.toString());
        // raw, and decoded (a fragment could hide behind \\u escapes); in the raw output the hex of
        // an escape left in untouched text ("\\u0079") is no leak
        String envelope = String.join("", before) + String.join("", after) + data + "[DONE]";
        assertNoFragment(out.replaceAll("\\\\u[0-9a-fA-F]{4}", "\\\\u____"), envelope + s.expected(), s.secrets());
        List<String> outTokens = extractTokens(out, before, after);
        assertNoFragment(M.readTree("[" + String.join(",", outTokens) + "]").toString(), s.expected(), s.secrets());
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < outTokens.size(); i++) {
            String decoded = M.readTree(outTokens.get(i)).textValue();
            if (decoded.equals(parts.get(i))) {
                assertThat(outTokens.get(i)).isEqualTo(tokens.get(i));
            }
            joined.append(decoded);
        }
        assertThat(joined.toString()).isEqualTo(s.expected());
        assertThat(out).endsWith(data + "[DONE]" + eol + eol);
    }

    /** The content tokens of {@code out}, checking that everything around them is exactly as sent. */
    static List<String> extractTokens(String out, List<String> before, List<String> after) {
        List<String> found = new ArrayList<>();
        int p = 0;
        for (int i = 0; i < before.size(); i++) {
            assertThat(out.startsWith(before.get(i), p)).as("bytes before content %d", i).isTrue();
            p += before.get(i).length();
            int end = out.indexOf(after.get(i), p);
            assertThat(end).as("bytes after content %d", i).isGreaterThan(p);
            found.add(out.substring(p, end));
            p = end + after.get(i).length();
        }
        return found;
    }

    @Provide
    Arbitrary<String> benign() {
        Arbitrary<String> bait = Arbitraries.of(
                "123e4567-e89b-12d3-a456-426614174000", "v1.2.3", "version 2.14.1", "2024-05-12T14:33:02Z",
                "2024-05-12 14:33:02", "12:30:45", "order 8812-4471-0093", "Order #A-20240512-7781", "1715524382",
                "1715524382123", "$1,234.56", "EUR 4 111,00", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
                "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "3.14159",
                "ISBN 978-3-16-148410-0", "SKU-00042", "HTTP/1.1", "ratio 16:9", "room 404", "x86_64", "@mention",
                "user@localhost", "std::map", "pid 4242", "PR #1234", "1.0.0-rc.1", "10.5%", "RFC 9110");
        Arbitrary<String> uuid = Arbitraries.create(java.util.UUID::randomUUID).map(Object::toString);
        // UUIDs whose leading groups are all digits look like grouped card, phone or SSN numbers;
        // a random UUID is this shape about once in a thousand, so generate them on purpose
        Arbitrary<String> digitUuid = Arbitraries.strings().withCharRange('0', '9').ofLength(30)
                .map(h -> h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-b"
                        + h.substring(16, 19) + "-" + h.substring(19, 30) + "e");
        Arbitrary<String> word = Arbitraries.of(WORDS);
        return Arbitraries.oneOf(bait, uuid, digitUuid, word, word, word).list().ofMinSize(1).ofMaxSize(30).map(l -> String.join(" ", l));
    }

    @Property(tries = 300)
    void nonSensitiveTextPassesByteForByte(@ForAll("benign") String text) throws Exception {
        String json = "{\"choices\":[{\"message\":{\"content\":" + M.writeValueAsString(text) + "}}],\"n\":1.50}";
        assertThat(mask("application/json", json)).isEqualTo(json);
        String sse = "data: {\"choices\":[{\"delta\":{\"content\":" + M.writeValueAsString(text) + "}}]}\n\ndata: [DONE]\n\n";
        assertThat(mask("text/event-stream", sse)).isEqualTo(sse);
        assertThat(mask("text/plain", text)).isEqualTo(text);
    }
}
