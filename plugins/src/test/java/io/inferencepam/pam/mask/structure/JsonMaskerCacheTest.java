package io.inferencepam.pam.mask.structure;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.DetectorSet;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The byte-preserving JSON walk remembers per body what it has learnt (issue 13, performance): the
 * context of each member name, and which strings and integers were clean under a key without
 * context. Whatever repeats under which key, it masks what the walk without any memory masks:
 * {@link JsonMasker#maskJsonText}, which asks every key's context and scans every value anew.
 */
class JsonMaskerCacheTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> KEYS = List.of("content", "ssn", "phone", "password", "created", "index", "arguments",
            "db_version", "id", "ana@firma.de", "total_tokens", "tel", "secret");
    private static final List<String> STRINGS = List.of("hello", "120", "123456789", "4111 1111 1111 1111", "4111111111111111",
            "123-45-6789", "+1 415 555 0100", "4155550100", "10.0.0.1", "1.2.3.4", "hunter2secret", "{\"ssn\":\"123456789\"}",
            "[\"a@b.de\", 4111111111111111]", "ana@firma.de", "AKIAIOSFODNN7EXAMPLE", "chat.completion");
    private static final List<String> NUMBERS = List.of("0", "7", "120", "123456789", "4111111111111111", "4155550100",
            "1715524382", "-123456789", "12345678901234567890");

    private final JsonMasker masker = new JsonMasker(new Redactor(
            new DetectorSet(BuiltinDetectors.names().stream().map(BuiltinDetectors::create).collect(Collectors.toList()), Set.of()),
            Map.of(), Optional.empty()));

    @Property(tries = 500)
    void remembersNothingTheWalkWithoutMemoryWouldMaskDifferently(@ForAll long seed, @ForAll @IntRange(min = 1, max = 12) int objects)
            throws Exception {
        Random r = new Random(seed);
        StringBuilder doc = new StringBuilder("[");
        for (int o = 0; o < objects; o++) {
            doc.append(o > 0 ? "," : "").append('{');
            int members = 1 + r.nextInt(6);
            for (int m = 0; m < members; m++) {
                doc.append(m > 0 ? "," : "").append(MAPPER.writeValueAsString(KEYS.get(r.nextInt(KEYS.size())))).append(':');
                int kind = r.nextInt(3);
                if (kind == 0) {
                    doc.append(NUMBERS.get(r.nextInt(NUMBERS.size())));
                } else {
                    doc.append(MAPPER.writeValueAsString(STRINGS.get(r.nextInt(STRINGS.size()))));
                }
            }
            doc.append('}');
        }
        String json = doc.append(']').toString();

        MaskTally walked = new MaskTally();
        byte[] masked = masker.mask(json.getBytes(StandardCharsets.UTF_8), walked);
        MaskTally reference = new MaskTally();
        String expected = masker.maskJsonText(json, reference);

        assertThat(MAPPER.readTree(masked)).isEqualTo(MAPPER.readTree(expected));
        assertThat(walked.counts()).isEqualTo(reference.counts());
    }
}
