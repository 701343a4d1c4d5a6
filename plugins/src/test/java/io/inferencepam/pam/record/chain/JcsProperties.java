package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.erdtman.jcs.JsonCanonicalizer;
import org.junit.jupiter.api.Test;

/**
 * The audit canonical form is RFC 8785 (JCS), so that a verifier outside this project can
 * recompute every hash: the writer is checked against a maintained JCS implementation
 * ({@code io.github.erdtman:java-json-canonicalization}) on arbitrary trees — numbers (ES6
 * formatting of doubles, integers past 2^53), keys that sort differently by UTF-16 code units and
 * by code points, every escape, lone surrogates — and so is the chain's splice of its fields.
 *
 * <p>One deliberate difference: RFC 8785 takes I-JSON, which has no lone surrogates; the reference
 * encodes one as {@code ?}, the writer as U+FFFD (so a {@code ?} in a record is always a real one).
 * The properties compare against the reference on the input with lone surrogates replaced by U+FFFD.
 */
class JcsProperties {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** Any UTF-16 content: ASCII specials, controls, BMP, pairs, lone surrogates, and code units above the surrogates. */
    @Provide
    Arbitrary<String> texts() {
        Arbitrary<Character> chars = Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.chars().range(' ', '~')),
                Tuple.of(2, Arbitraries.chars().range('\u0000', '\u001f')),
                Tuple.of(2, Arbitraries.of('"', '\\', '/', '\u007f', '\u0080', '\u07ff', '\u0800', '\u2028', '\ufb01', '\uffff')),
                Tuple.of(2, Arbitraries.chars().range('\u00a0', '\u9fff')),
                Tuple.of(2, Arbitraries.chars().range('\ue000', '\uffff')),
                Tuple.of(2, Arbitraries.chars().range('\ud800', '\udfff')));
        return chars.list().ofMaxSize(30).map(cs -> {
            StringBuilder sb = new StringBuilder();
            cs.forEach(sb::append);
            return sb.toString();
        });
    }

    @Provide
    Arbitrary<JsonNode> numbers() {
        return Arbitraries.oneOf(
                Arbitraries.longs().map(F::numberNode),
                Arbitraries.longs().between(-(1L << 54), 1L << 54).map(F::numberNode),
                Arbitraries.bigIntegers().between(new java.math.BigInteger("-1" + "0".repeat(30)), new java.math.BigInteger("1" + "0".repeat(30)))
                        .map(F::numberNode),
                Arbitraries.doubles().filter(Double::isFinite).map(F::numberNode),
                Arbitraries.longs().map(Double::longBitsToDouble).filter(Double::isFinite).map(F::numberNode),
                Arbitraries.of(0.0, -0.0, 1e21, 1e-7, 1e-6, 123456789012345680000.0, 5e-324, Double.MAX_VALUE, 4.5, 0.002, 1e30)
                        .map(F::numberNode));
    }

    @Provide
    Arbitrary<JsonNode> nodes() {
        return Arbitraries.lazyOf(
                () -> texts().map(F::textNode),
                this::numbers,
                () -> Arbitraries.of(true, false).map(F::booleanNode),
                () -> Arbitraries.just(F.nullNode()),
                () -> Arbitraries.lazy(this::nodes).list().ofMaxSize(3).map(l -> {
                    ArrayNode a = F.arrayNode();
                    l.forEach(a::add);
                    return a;
                }),
                () -> objects(Arbitraries.lazy(this::nodes)));
    }

    private Arbitrary<JsonNode> objects(Arbitrary<JsonNode> values) {
        Arbitrary<String> names = Arbitraries.oneOf(texts(), Arbitraries.of("hash", "has", "hasi", "hash0", "h", "i", "a", "z", "seq",
                "prev", "instance", "sig", "Hash", "", "\u20ac", "\ud83d\ude00", "\ufb01", "\r", "1", "10", "2"));
        return Combinators.combine(names, values).as(List::of).list().ofMaxSize(6).map(pairs -> {
            ObjectNode o = F.objectNode();
            pairs.forEach(p -> o.set((String) p.get(0), (JsonNode) p.get(1)));
            return o;
        });
    }

    /** What the reference implementation makes of the tree, written by Jackson in its own (non-canonical) order. */
    static byte[] reference(JsonNode node) throws Exception {
        return new JsonCanonicalizer(CanonicalJson.MAPPER.writeValueAsString(withoutLoneSurrogates(node))).getEncodedUTF8();
    }

    static JsonNode withoutLoneSurrogates(JsonNode n) {
        if (n.isTextual()) {
            return F.textNode(JcsWriter.withoutLoneSurrogates(n.textValue()));
        }
        if (n.isArray()) {
            ArrayNode a = F.arrayNode();
            n.forEach(e -> a.add(withoutLoneSurrogates(e)));
            return a;
        }
        if (n.isObject()) {
            ObjectNode o = F.objectNode();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                o.set(JcsWriter.withoutLoneSurrogates(e.getKey()), withoutLoneSurrogates(e.getValue()));
            }
            return o;
        }
        return n;
    }

    private static boolean keysSurviveRepair(JsonNode n) {
        if (n.isObject()) {
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!seen.add(JcsWriter.withoutLoneSurrogates(e.getKey())) || !keysSurviveRepair(e.getValue())) {
                    return false;
                }
            }
        }
        if (n.isArray()) {
            for (JsonNode e : n) {
                if (!keysSurviveRepair(e)) {
                    return false;
                }
            }
        }
        return true;
    }

    @Property(tries = 1000)
    void theCanonicalFormIsRfc8785AsTheReferenceWritesIt(@ForAll("nodes") JsonNode node) throws Exception {
        net.jqwik.api.Assume.that(keysSurviveRepair(node)); // two keys that differ only in lone surrogates become one
        JsonNode wrapped = F.arrayNode().add(node); // the reference takes an object or an array at the top
        assertThat(new String(CanonicalJson.utf8(wrapped), StandardCharsets.UTF_8))
                .isEqualTo(new String(reference(wrapped), StandardCharsets.UTF_8));
    }

    @Property(tries = 500)
    void theCanonicalFormIsValidUtf8AndAFixedPointOfParsing(@ForAll("nodes") JsonNode node) throws Exception {
        net.jqwik.api.Assume.that(keysSurviveRepair(node));
        byte[] form = CanonicalJson.utf8(node);
        String strict = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(form)).toString();
        assertThat(CanonicalJson.utf8(CanonicalJson.parse(strict))).isEqualTo(form); // what a verifier recomputes
    }

    /** A linked entry is the canonical form of the entry with its chain fields; its hash is over that form without {@code hash}. */
    @Property(tries = 1000)
    void aLinkedEntryIsTheReferenceFormAndItsHashIsOverTheFormWithoutIt(@ForAll("nodes") JsonNode any) throws Exception {
        ObjectNode entry = any instanceof ObjectNode o ? o : (ObjectNode) F.objectNode().set("v", any);
        net.jqwik.api.Assume.that(keysSurviveRepair(entry));
        HashChain chain = new HashChain("inst-\u00e9\u001b");
        chain.linkAndEncode(UnlinkedEntry.of(entry)); // buffers and digest are reused: the second entry must not see the first
        String first = chain.lastHash();
        byte[] line = chain.linkAndEncode(UnlinkedEntry.of(entry));

        ObjectNode expected = entry.deepCopy();
        expected.remove(HashChain.SIG);
        expected.put(HashChain.INSTANCE, "inst-\u00e9\u001b");
        expected.put(HashChain.SEQ, 2);
        expected.put(HashChain.PREV, first);
        expected.put(HashChain.HASH, chain.lastHash());
        ObjectNode stored = (ObjectNode) CanonicalJson.parse(line);
        assertThat(new String(line, StandardCharsets.UTF_8)).isEqualTo(new String(reference(expected), StandardCharsets.UTF_8));
        expected.remove(HashChain.HASH);
        assertThat(chain.lastHash()).isEqualTo(HashChain.sha256Hex(reference(expected)));
        assertThat(HashChain.hashOf(stored)).isEqualTo(chain.lastHash());
    }

    /** The tree path (overflow lines, tests) and the entry path give the same line. */
    @Property(tries = 300)
    void linkingATreeIsLinkingItsEntry(@ForAll("nodes") JsonNode any) {
        ObjectNode entry = any instanceof ObjectNode o ? o : (ObjectNode) F.objectNode().set("v", any);
        HashChain a = new HashChain("i");
        HashChain b = new HashChain("i");
        byte[] viaEntry = a.linkAndEncode(UnlinkedEntry.of(entry));
        byte[] viaTree = b.linkAndEncode(entry.deepCopy());
        assertThat(viaTree).isEqualTo(viaEntry);
        assertThat(a.lastHash()).isEqualTo(b.lastHash());
    }

    /**
     * Bytes as a body brings them: the UTF-8 of any text, and the same broken in every way UTF-8
     * can be (cut mid-sequence, stray continuation bytes, overlong forms, encoded surrogates,
     * beyond U+10FFFF, random bytes).
     */
    @Provide
    Arbitrary<byte[]> bodyBytes() {
        Arbitrary<byte[]> valid = texts().map(t -> JcsWriter.withoutLoneSurrogates(t).getBytes(StandardCharsets.UTF_8));
        Arbitrary<byte[]> broken = Combinators.combine(valid, Arbitraries.of(
                        new byte[] {(byte) 0x80}, new byte[] {(byte) 0xBF}, new byte[] {(byte) 0xC0, (byte) 0x80},
                        new byte[] {(byte) 0xC1, (byte) 0xBF}, new byte[] {(byte) 0xC2}, new byte[] {(byte) 0xE0, (byte) 0x80, (byte) 0x80},
                        new byte[] {(byte) 0xE0, (byte) 0x9F, (byte) 0xBF}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                        new byte[] {(byte) 0xED, (byte) 0xBF, (byte) 0xBF}, new byte[] {(byte) 0xE2, (byte) 0x82},
                        new byte[] {(byte) 0xF0, (byte) 0x8F, (byte) 0xBF, (byte) 0xBF}, new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
                        new byte[] {(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0xFF},
                        new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98}, new byte[] {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD}),
                Arbitraries.integers().between(0, 40)).as((v, bad, at) -> {
                    int i = Math.min(at, v.length);
                    byte[] out = new byte[v.length + bad.length];
                    System.arraycopy(v, 0, out, 0, i);
                    System.arraycopy(bad, 0, out, i, bad.length);
                    System.arraycopy(v, i, out, i + bad.length, v.length - i);
                    return out;
                });
        Arbitrary<byte[]> cut = valid.filter(v -> v.length > 1).flatMap(v -> Arbitraries.integers().between(1, v.length - 1)
                .map(n -> java.util.Arrays.copyOf(v, n)));
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(24);
        return Arbitraries.frequencyOf(Tuple.of(4, valid), Tuple.of(3, broken), Tuple.of(2, cut), Tuple.of(2, random));
    }

    /**
     * The body path: a member written straight from UTF-8 bytes ({@link JcsWriter#utf8Field}) is
     * byte for byte what the text path writes for the strictly decoded text, which is what the
     * reference implementation writes; bytes that are not well-formed UTF-8 (what the JDK's strict
     * decoder refuses) are refused and leave the writer exactly as it was.
     */
    @Property(tries = 3000)
    void aMemberWrittenFromUtf8BytesIsWhatTheTextPathAndTheReferenceWrite(@ForAll("bodyBytes") byte[] bytes) throws Exception {
        java.util.Optional<String> strict;
        try {
            strict = java.util.Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            strict = java.util.Optional.empty();
        }
        CanonicalJson.Utf8Buffer out = new CanonicalJson.Utf8Buffer(8); // small: escapes must grow it
        JcsWriter w = new JcsWriter(out).beginObject().field("a", "before");
        byte[] given = bytes.clone();
        boolean written = w.utf8Field("body", given);
        assertThat(written).isEqualTo(strict.isPresent());
        assertThat(given).isEqualTo(bytes);
        if (!written) {
            w.field("body", "refused"); // the writer goes on as if nothing had been tried: same key allowed, same commas
        }
        w.field("c", "after").endObject();
        ObjectNode expected = F.objectNode().put("a", "before").put("body", strict.orElse("refused")).put("c", "after");
        CanonicalJson.Utf8Buffer viaText = new CanonicalJson.Utf8Buffer(64);
        new JcsWriter(viaText).beginObject().field("a", "before").field("body", strict.orElse("refused")).field("c", "after").endObject();
        assertThat(out.toByteArray()).isEqualTo(viaText.toByteArray());
        assertThat(new String(out.toByteArray(), StandardCharsets.UTF_8)).isEqualTo(new String(reference(expected), StandardCharsets.UTF_8));
    }

    /**
     * A refused member at the top level of an entry leaves the chain-field slots as they were: "q"
     * sorts after hash, instance and prev; what is written instead ("body") sorts before them.
     */
    @Property(tries = 300)
    void aRefusedTopLevelMemberLeavesTheChainSlotsAsTheyWere(@ForAll("bodyBytes") byte[] bytes) {
        JcsWriter w = UnlinkedEntry.begin(16);
        w.field("a", 1);
        if (!w.utf8Field("q", bytes)) {
            w.field("body", "refused");
        }
        w.field("z", 2);
        UnlinkedEntry viaBytes = UnlinkedEntry.finish(w);
        HashChain a = new HashChain("i");
        HashChain b = new HashChain("i");
        assertThat(a.linkAndEncode(viaBytes)).isEqualTo(b.linkAndEncode(UnlinkedEntry.of(viaBytes.toTree())));
    }

    /** An instant written straight into the buffer is the member {@code Instant.toString} gives, any millisecond. */
    @Property(tries = 3000)
    void anInstantIsWrittenAsInstantToStringWritesIt(@ForAll("millis") long ms) {
        CanonicalJson.Utf8Buffer a = new CanonicalJson.Utf8Buffer(8);
        new JcsWriter(a).beginObject().instantField("at", ms).field("b", 1).endObject();
        CanonicalJson.Utf8Buffer b = new CanonicalJson.Utf8Buffer(8);
        new JcsWriter(b).beginObject().field("at", java.time.Instant.ofEpochMilli(ms).toString()).field("b", 1).endObject();
        assertThat(new String(a.toByteArray(), StandardCharsets.UTF_8)).isEqualTo(new String(b.toByteArray(), StandardCharsets.UTF_8));
    }

    @Provide
    Arbitrary<Long> millis() {
        return Arbitraries.oneOf(
                Arbitraries.longs().between(1_600_000_000_000L, 2_000_000_000_000L), // now-ish
                Arbitraries.longs().between(-62_167_219_200_000L - 86_400_000L, 253_402_300_799_999L + 86_400_000L), // years 0000–9999 and just past
                Arbitraries.longs().between(-1L << 50, 1L << 50),
                Arbitraries.longs().between(1_700_000_000_000L, 1_700_000_000_000L + 3_000).map(x -> x / 1000 * 1000), // whole seconds
                Arbitraries.of(0L, -1L, 1L, 999L, 1000L, -1000L, -1001L, 951_782_400_000L, 4_107_542_400_000L));
    }

    @Test
    void theExampleOfRfc8785Section3_2_3() throws Exception {
        String input = "{\"numbers\":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"
                + "\"string\":\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\"literals\":[null,true,false]}";
        assertThat(CanonicalJson.write(CanonicalJson.parse(input))).isEqualTo(
                "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                        + "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    }

    @Test
    void escapesAreTheShortFormsAndLowercaseHexAndALoneSurrogateIsTheReplacementCharacter() {
        ObjectNode o = F.objectNode();
        o.put("s", "\b\t\n\f\r\u0001\u001f\u000b\"\\/\u007f\ud83d\ude00\ud83d|\ude00");
        assertThat(CanonicalJson.write(o))
                .isEqualTo("{\"s\":\"\\b\\t\\n\\f\\r\\u0001\\u001f\\u000b\\\"\\\\/\u007f\ud83d\ude00\ufffd|\ufffd\"}");
    }

    @Test
    void keysSortByUtf16CodeUnitsNotCodePoints() {
        ObjectNode o = F.objectNode();
        o.put("\ufb01", 1); // U+FB01 sorts after a surrogate pair by code point, before it by UTF-16 code unit
        o.put("\ud83d\ude00", 2);
        o.put("\u20ac", 3);
        assertThat(CanonicalJson.write(o)).isEqualTo("{\"\u20ac\":3,\"\ud83d\ude00\":2,\"\ufb01\":1}");
    }

    @Test
    void integersPast2To53AreTheNearestDouble() {
        ObjectNode o = F.objectNode();
        o.put("a", 9007199254740993L);
        o.put("b", 9007199254740992L);
        o.put("c", Long.MIN_VALUE);
        assertThat(CanonicalJson.write(o)).isEqualTo("{\"a\":9007199254740992,\"b\":9007199254740992,\"c\":-9223372036854776000}");
    }

    @Test
    void theWriterRefusesKeysOutOfOrderRepeatedOrTheChainsOwn() {
        assertThatThrownBy(() -> new JcsWriter(new CanonicalJson.Utf8Buffer(64)).beginObject().field("b", 1).field("a", 2))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JcsWriter(new CanonicalJson.Utf8Buffer(64)).beginObject().field("a", 1).field("a", 2))
                .isInstanceOf(IllegalStateException.class);
        for (String reserved : new String[] {"hash", "instance", "prev", "seq", "sig"}) {
            assertThatThrownBy(() -> UnlinkedEntry.begin(64).field(reserved, "x")).isInstanceOf(IllegalStateException.class);
        }
        // nested objects may use those names
        JcsWriter w = UnlinkedEntry.begin(64);
        w.key("a").beginObject().field("hash", "x").endObject();
        assertThat(UnlinkedEntry.finish(w).json()).isEqualTo("{\"a\":{\"hash\":\"x\"}}");
    }

    @Test
    void anEmptyEntryLinksToItsChainFieldsAlone() throws Exception {
        HashChain chain = new HashChain("i");
        String line = new String(chain.linkAndEncode(UnlinkedEntry.finish(UnlinkedEntry.begin(16))), StandardCharsets.UTF_8);
        assertThat(line).isEqualTo("{\"hash\":\"" + chain.lastHash() + "\",\"instance\":\"i\",\"prev\":\"" + HashChain.GENESIS + "\",\"seq\":1}");
        assertThat(chain.lastHash()).isEqualTo(HashChain.sha256Hex("{\"instance\":\"i\",\"prev\":\"" + HashChain.GENESIS + "\",\"seq\":1}"));
    }
}
