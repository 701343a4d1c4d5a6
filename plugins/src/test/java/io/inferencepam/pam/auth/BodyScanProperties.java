package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Adversarial bodies: every spelling of a model field that a case-insensitive decoder would match
 * is refused, and so is every body that is not well-formed UTF-8.
 */
class BodyScanProperties {
    static final ModelResolver OPENAI = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"));
    static final ModelResolver OLLAMA = new ModelResolver(ModelApi.OLLAMA, "", Set.of(), List.of("model"), true);

    /** The model fields per endpoint, as the resolver reads them. */
    record Endpoint(ModelResolver resolver, String path, List<String> fields) {
    }

    static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint(OPENAI, "/v1/chat/completions", List.of("model")),
            new Endpoint(OLLAMA, "/api/chat", List.of("model", "name")),
            new Endpoint(OLLAMA, "/api/copy", List.of("source", "destination")),
            new Endpoint(OLLAMA, "/api/create", List.of("model", "name", "from", "modelfile")));

    /**
     * Every character Go's encoding/json treats as the same letter (unicode.SimpleFold orbits; the
     * only non-ASCII members of an ASCII letter's orbit are U+212A KELVIN SIGN and U+017F LONG S),
     * written out here rather than taken from the code under test.
     */
    static List<Character> sameLetter(char c) {
        List<Character> out = new ArrayList<>(List.of(Character.toLowerCase(c), Character.toUpperCase(c)));
        if (Character.toLowerCase(c) == 'k') {
            out.add('\u212A');
        }
        if (Character.toLowerCase(c) == 's') {
            out.add('\u017F');
        }
        return out;
    }

    /** A spelling of {@code field}: each letter replaced by one of its fold orbit, maybe escaped, maybe a '_' or '-' added. */
    static Arbitrary<String> variantOf(String field) {
        List<Arbitrary<String>> letters = new ArrayList<>();
        for (char c : field.toCharArray()) {
            Arbitrary<Character> ch = Arbitraries.of(sameLetter(c));
            letters.add(Combinators.combine(ch, Arbitraries.of(false, false, true), Arbitraries.of("", "", "", "", "", "_", "-"))
                    .as((x, escape, delimiter) -> (escape ? String.format("\\u%04X", (int) x) : String.valueOf(x)) + delimiter));
        }
        return Combinators.combine(letters).as(parts -> String.join("", parts));
    }

    @Provide
    Arbitrary<Object[]> foldedKeys() {
        return Arbitraries.of(ENDPOINTS).flatMap(e -> Arbitraries.of(e.fields()).flatMap(f ->
                Combinators.combine(variantOf(f), Arbitraries.integers().between(0, 3))
                        .as((v, shape) -> new Object[] {e, f, v, shape})));
    }

    /** The JSON text of {@code escaped} decoded (only the \\uXXXX escapes {@link #variantOf} writes). */
    static String unescaped(String escaped) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < escaped.length(); i++) {
            if (escaped.startsWith("\\u", i)) {
                out.append((char) Integer.parseInt(escaped.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                out.append(escaped.charAt(i));
            }
        }
        return out.toString();
    }

    @Property(tries = 3000)
    void anyFoldVariantOfAModelFieldIsRefused(@ForAll("foldedKeys") Object[] c) {
        Endpoint e = (Endpoint) c[0];
        String field = (String) c[1];
        String variant = (String) c[2];
        int shape = (Integer) c[3];
        Assume.that(!unescaped(variant).equals(field)); // the field itself, spelled exactly (escapes are fine)
        Statistics.label("non-ascii").collect(unescaped(variant).chars().anyMatch(ch -> ch > 127));
        String all = "{\"model\":\"llama3\",\"name\":\"llama3\",\"source\":\"llama3\",\"destination\":\"mine\",\"from\":\"llama3\"";
        String body = switch (shape) {
            // only the variant
            case 0 -> "{\"" + variant + "\":\"llama3\"}";
            // the exact fields first, then the variant naming another model (last wins in Go)
            case 1 -> all + ",\"" + variant + "\":\"secret\"}";
            // the variant first
            case 2 -> "{\"" + variant + "\":\"secret\"," + all.substring(1) + "}";
            // the variant with a non-string value, behind other members
            default -> all + ",\"messages\":[{\"role\":\"user\"}],\"" + variant + "\":{\"a\":[1]}}";
        };
        ModelOutcome o = e.resolver().resolve(new ModelRequest("POST", e.path(), Optional.of(e.path()), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(Body.utf8(body))));
        assertThat(o).as(body).isInstanceOf(ModelOutcome.Refused.class);
        assertThat(((ModelOutcome.Refused) o).rejection().code()).as(body).isEqualTo("ambiguous_json_key");
    }

    // ---- invalid UTF-8 ---------------------------------------------------------------------------

    private static Arbitrary<Integer> range(int from, int to) {
        return Arbitraries.integers().between(from, to);
    }

    private static Arbitrary<Integer> cont() {
        return range(0x80, 0xBF);
    }

    /** Byte sequences that are not well-formed UTF-8 (Unicode 15, table 3-7), by kind. */
    @Provide
    Arbitrary<byte[]> invalidUtf8() {
        List<Arbitrary<List<Integer>>> kinds = List.of(
                // overlong 2-byte (C0, C1 lead)
                Combinators.combine(range(0xC0, 0xC1), cont()).as(List::of),
                // overlong 3-byte
                Combinators.combine(Arbitraries.just(0xE0), range(0x80, 0x9F), cont()).as(List::of),
                // overlong 4-byte
                Combinators.combine(Arbitraries.just(0xF0), range(0x80, 0x8F), cont(), cont()).as(List::of),
                // UTF-16 surrogates encoded as UTF-8 (CESU-8 style)
                Combinators.combine(Arbitraries.just(0xED), range(0xA0, 0xBF), cont()).as(List::of),
                // above U+10FFFF
                Combinators.combine(Arbitraries.just(0xF4), range(0x90, 0xBF), cont(), cont()).as(List::of),
                Combinators.combine(range(0xF5, 0xF7), cont(), cont(), cont()).as(List::of),
                // bytes that never occur
                Combinators.combine(range(0xF8, 0xFF), cont()).as(List::of),
                // lone continuation bytes
                cont().list().ofMinSize(1).ofMaxSize(3),
                // truncated sequences: a lead byte and fewer continuation bytes than it announces
                Combinators.combine(range(0xC2, 0xDF), Arbitraries.just(0x41)).as(List::of),
                Combinators.combine(range(0xE1, 0xEC), cont()).as(List::of),
                Combinators.combine(range(0xF1, 0xF3), cont(), cont()).as(List::of),
                range(0xC2, 0xF4).map(List::of));
        return Arbitraries.oneOf(kinds).map(l -> {
            byte[] b = new byte[l.size()];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (int) l.get(i);
            }
            return b;
        });
    }

    @Provide
    Arbitrary<String> anyText() {
        return Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(12);
    }

    @Property(tries = 3000)
    void invalidUtf8AnywhereInTheBodyIsRefused(@ForAll("invalidUtf8") byte[] seq, @ForAll("anyText") String before,
                                               @ForAll("anyText") String after,
                                               @ForAll("place") String where) {
        String b = before.replace("\\", "").replace("\"", "");
        String a = after.replace("\\", "").replace("\"", "");
        String[] parts = switch (where) {
            case "nested" -> new String[] {"{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"" + b, a + "\"}]}"};
            case "value" -> new String[] {"{\"messages\":[],\"model\":\"llama3" + b, a + "\"}"};
            case "key" -> new String[] {"{\"model\":\"llama3\",\"" + b, a + "\":1}"};
            case "nested-key" -> new String[] {"{\"model\":\"llama3\",\"tools\":[{\"" + b, a + "\":{}}]}"};
            default -> new String[] {"{\"model\":\"llama3\",\"user\":\"" + b, a + "\"}"};
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(parts[0].getBytes(StandardCharsets.UTF_8));
        out.writeBytes(seq);
        out.writeBytes(parts[1].getBytes(StandardCharsets.UTF_8));
        ModelOutcome o = OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"),
                Headers.empty(), Optional.of("application/json"), List.of(), Optional.of(Body.wrap(out.toByteArray()))));
        assertThat(o).isInstanceOf(ModelOutcome.Refused.class);
        assertThat(((ModelOutcome.Refused) o).rejection().code()).isEqualTo("invalid_json");
    }

    @Provide
    Arbitrary<String> place() {
        return Arbitraries.of("nested", "value", "key", "nested-key", "other");
    }

    /** Random bytes, and valid UTF-8 with a few bytes changed: mostly near-misses of well-formed text. */
    @Provide
    Arbitrary<byte[]> nearlyUtf8() {
        Arbitrary<byte[]> mutated = Combinators.combine(unicodeText(), Arbitraries.integers().between(0, 255).list().ofMaxSize(3),
                Arbitraries.integers().between(0, 1000).list().ofSize(3)).as((text, values, positions) -> {
                    byte[] b = ("abcdefgh" + text + "12345678").getBytes(StandardCharsets.UTF_8);
                    for (int i = 0; i < values.size(); i++) {
                        b[positions.get(i) % b.length] = (byte) (int) values.get(i);
                    }
                    return b;
                });
        return Arbitraries.oneOf(mutated, Arbitraries.bytes().array(byte[].class).ofMaxSize(24), invalidUtf8());
    }

    @Property(tries = 5000)
    void strictUtf8AgreesWithTheJdksReportingDecoder(@ForAll("nearlyUtf8") byte[] bytes) {
        boolean jdk;
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes));
            jdk = true;
        } catch (java.nio.charset.CharacterCodingException e) {
            jdk = false;
        }
        Statistics.label("well-formed").collect(jdk).coverage(c -> c.check(true).percentage(p -> p > 5.0));
        assertThat(StrictUtf8.isWellFormed(bytes)).as(BodyScanTest.hex(bytes)).isEqualTo(jdk);
    }

    @Provide
    Arbitrary<String> unicodeText() {
        // any code point outside the surrogate block, including supplementary ones
        return Arbitraries.integers().between(0x20, 0x10FFFF).filter(cp -> cp < 0xD800 || cp > 0xDFFF)
                .list().ofMaxSize(20)
                .map(cps -> {
                    StringBuilder s = new StringBuilder();
                    cps.forEach(s::appendCodePoint);
                    return s.toString().replace("\\", "").replace("\"", "");
                });
    }

    @Property(tries = 1000)
    void wellFormedUtf8IsNeverRefusedForItsEncoding(@ForAll("unicodeText") String text) {
        String body = "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\",\"" + text + "x\":1}]}";
        ModelOutcome o = OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"),
                Headers.empty(), Optional.of("application/json"), List.of(), Optional.of(Body.utf8(body))));
        assertThat(o).isEqualTo(new ModelOutcome.Resolved("llama3"));
    }
}
