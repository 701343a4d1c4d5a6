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
