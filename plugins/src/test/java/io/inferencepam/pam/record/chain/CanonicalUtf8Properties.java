package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The writer hashes and stores the UTF-8 form built by {@link CanonicalJson#writeUtf8}; verifiers
 * (and every record stored before it existed) use the String form. They must be the same bytes
 * for every input, or a verifier would report an untouched record as modified.
 */
class CanonicalUtf8Properties {

    /** Any UTF-16 content: ASCII specials, control characters, BMP, pairs and lone surrogates. */
    @Provide
    Arbitrary<String> texts() {
        Arbitrary<Character> chars = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, Arbitraries.chars().range(' ', '~')),
                net.jqwik.api.Tuple.of(2, Arbitraries.chars().range('\u0000', '\u001f')),
                net.jqwik.api.Tuple.of(2, Arbitraries.of('"', '\\', '/', '\u007f', '\u0080', '\u07ff', '\u0800', '\u2028', '\uffff')),
                net.jqwik.api.Tuple.of(2, Arbitraries.chars().range('\u00a0', '\u9fff')),
                net.jqwik.api.Tuple.of(2, Arbitraries.chars().range('\ud800', '\udfff')));
        return chars.list().ofMaxSize(40).map(cs -> {
            StringBuilder sb = new StringBuilder();
            cs.forEach(sb::append);
            return sb.toString();
        });
    }

    @Provide
    Arbitrary<JsonNode> nodes() {
        return Arbitraries.lazyOf(
                () -> texts().map(t -> CanonicalJson.MAPPER.getNodeFactory().textNode(t)),
                () -> Arbitraries.longs().map(l -> CanonicalJson.MAPPER.getNodeFactory().numberNode(l)),
                () -> Arbitraries.bigIntegers().between(new java.math.BigInteger("-1" + "0".repeat(30)), new java.math.BigInteger("1" + "0".repeat(30)))
                        .map(b -> CanonicalJson.MAPPER.getNodeFactory().numberNode(b)),
                () -> Arbitraries.of(true, false).map(b -> CanonicalJson.MAPPER.getNodeFactory().booleanNode(b)),
                () -> Arbitraries.just(CanonicalJson.MAPPER.getNodeFactory().nullNode()),
                () -> Arbitraries.lazy(this::nodes).list().ofMaxSize(3).map(l -> {
                    ArrayNode a = CanonicalJson.MAPPER.createArrayNode();
                    l.forEach(a::add);
                    return a;
                }),
                () -> objects(Arbitraries.lazy(this::nodes)));
    }

    private Arbitrary<JsonNode> objects(Arbitrary<JsonNode> values) {
        Arbitrary<String> names = Arbitraries.oneOf(texts(),
                Arbitraries.of("hash", "has", "hasi", "hash0", "h", "i", "a", "z", "seq", "prev", "instance", "Hash", ""));
        return Combinators.combine(names, values).as(List::of).list().ofMaxSize(5).map(pairs -> {
            ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
            pairs.forEach(p -> o.set((String) p.get(0), (JsonNode) p.get(1)));
            return o;
        });
    }

    @Property(tries = 500)
    void utf8FormIsTheStringFormsBytes(@ForAll("nodes") JsonNode node) {
        assertThat(CanonicalJson.utf8(node)).isEqualTo(CanonicalJson.write(node).getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 500)
    void aLinkedEntryIsItsCanonicalFormWithTheHashOfTheFormWithoutIt(@ForAll("nodes") JsonNode any) {
        ObjectNode entry = any instanceof ObjectNode o ? o : (ObjectNode) CanonicalJson.MAPPER.createObjectNode().set("v", any);
        HashChain chain = new HashChain("inst-\u00e9");
        chain.linkAndEncode(entry.deepCopy()); // the digest and buffer are reused: a second entry must not see the first
        byte[] line = chain.linkAndEncode(entry);
        assertThat(line).isEqualTo(CanonicalJson.write(entry).getBytes(StandardCharsets.UTF_8));
        assertThat(entry.get(HashChain.HASH).asText()).isEqualTo(HashChain.hashOf(entry));
        ObjectNode without = entry.deepCopy();
        without.remove(HashChain.HASH);
        assertThat(entry.get(HashChain.HASH).asText()).isEqualTo(HashChain.sha256Hex(CanonicalJson.write(without)));
        assertThat(entry.get(HashChain.SEQ).asLong()).isEqualTo(2);
    }

    @Test
    void escapesAreJacksonsShortFormsAndUppercaseHex() {
        ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
        o.put("s", "\b\t\n\f\r\u0001\u001f\"\\/\u007f\ud83d\ude00\ud83d");
        assertThat(new String(CanonicalJson.utf8(o), StandardCharsets.UTF_8))
                .isEqualTo("{\"s\":\"\\b\\t\\n\\f\\r\\u0001\\u001F\\\"\\\\/\u007f\ud83d\ude00?\"}");
    }
}
