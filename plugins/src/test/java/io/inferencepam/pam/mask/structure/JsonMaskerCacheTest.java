package io.inferencepam.pam.mask.structure;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.DetectorSet;
import java.nio.charset.StandardCharsets;
import io.inferencepam.pam.mask.detect.Detector;
import io.inferencepam.pam.mask.detect.DictionaryDetector;
import io.inferencepam.pam.mask.detect.RegexDetector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Example;
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
            "db_version", "id", "ana@firma.de", "total_tokens", "tel", "secret", "role", "finish_reason", "object", "model");
    private static final List<String> STRINGS = List.of("hello", "120", "123456789", "4111 1111 1111 1111", "4111111111111111",
            "123-45-6789", "+1 415 555 0100", "4155550100", "10.0.0.1", "1.2.3.4", "hunter2secret", "{\"ssn\":\"123456789\"}",
            "[\"a@b.de\", 4111111111111111]", "ana@firma.de", "AKIAIOSFODNN7EXAMPLE", "chat.completion", "assistant", "stop",
            "content", "tool_calls");
    private static final List<String> NUMBERS = List.of("0", "7", "120", "123456789", "4111111111111111", "4155550100",
            "1715524382", "-123456789", "12345678901234567890");

    private final JsonMasker masker = masker(List.of());
    /**
     * A route whose custom detectors match names and values every response repeats (issue 15: those
     * are known clean per conf, never for all confs): "content", "assistant" and "stop" as whole
     * words, and any one-digit integer.
     */
    private final JsonMasker customMasker = masker(List.of(new DictionaryDetector("house_words", List.of("content", "assistant", "stop"),
            true, true), new RegexDetector("digit", "^[0-7]$", false)));

    private static JsonMasker masker(List<Detector> custom) {
        List<Detector> detectors = new ArrayList<>(BuiltinDetectors.names().stream().map(BuiltinDetectors::create).toList());
        detectors.addAll(custom);
        return new JsonMasker(new Redactor(new DetectorSet(detectors, Set.of()), Map.of(), Optional.empty()));
    }

    @Property(tries = 500)
    void remembersNothingTheWalkWithoutMemoryWouldMaskDifferently(@ForAll long seed, @ForAll @IntRange(min = 1, max = 12) int objects)
            throws Exception {
        walkEqualsMemorylessWalk(masker, seed, objects);
    }

    @Property(tries = 300)
    void aCustomDetectorStillMasksWhatEveryResponseRepeats(@ForAll long seed, @ForAll @IntRange(min = 1, max = 12) int objects)
            throws Exception {
        walkEqualsMemorylessWalk(customMasker, seed, objects);
    }

    /**
     * A value in an array after a nested object or array belongs to the array's key: on main the
     * walks kept the inner object's last member name, so these secrets passed (review B, session 6).
     */
    @Example
    void aValueAfterANestedObjectInAnArrayKeepsTheArraysKey() throws Exception {
        for (String json : List.of("{\"api_key\":[{\"id\":\"x\"},\"s3cr3tpw\"]}", "{\"ssn\":[{\"n\":1},\"123456789\"]}",
                "{\"ssn\":[[\"a\"],123456789]}", "{\"password\":[{\"a\":{\"b\":[1]}},\"hunter2secret\"],\"x\":\"y\"}")) {
            String viaBytes = new String(masker.mask(json.getBytes(StandardCharsets.UTF_8), new MaskTally()), StandardCharsets.UTF_8);
            String viaTree = masker.maskJsonText(json, new MaskTally());
            for (String masked : List.of(viaBytes, viaTree)) {
                assertThat(masked).as(json).doesNotContain("s3cr3tpw", "123456789", "hunter2secret");
            }
        }
    }

    @Example
    void knownNamesAndValuesAreMaskedWhenTheConfsDetectorsMatchThem() throws Exception {
        String json = "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                + "\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}";
        MaskTally tally = new MaskTally();
        String masked = new String(customMasker.mask(json.getBytes(StandardCharsets.UTF_8), tally), StandardCharsets.UTF_8);
        assertThat(masked).isEqualTo("{\"object\":\"chat.completion\",\"choices\":[{\"index\":\"[DIGIT]\",\"message\":"
                + "{\"role\":\"[HOUSE_WORDS]\",\"[HOUSE_WORDS]\":\"hi\"},\"finish_reason\":\"[HOUSE_WORDS]\"}]}");
        assertThat(tally.counts()).isEqualTo(Map.of("house_words", 3, "digit", 1));
    }

    /**
     * Issue 15 (runner CPU of the chain): the names and values every completion repeats are not run
     * through the detectors of each body again; only the text that differs per response is.
     */
    @Example
    void namesAndValuesEveryResponseRepeatsAreNotScannedPerBody() {
        SpyDetector spy = new SpyDetector();
        List<String> scanned = spy.scanned;
        JsonMasker spied = masker(List.of(spy));
        String json = "{\"id\":\"chatcmpl-9f2c\",\"object\":\"chat.completion\",\"created\":1733572800,\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Revenue grew.\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":412,\"completion_tokens\":388,\"total_tokens\":800}}";
        scanned.clear(); // the conf's known strings were scanned once when the masker was built
        spied.mask(json.getBytes(StandardCharsets.UTF_8), new MaskTally());
        assertThat(scanned).containsExactly("chatcmpl-9f2c", "1733572800", "Revenue grew.", "412", "388", "800");
    }

    private static void walkEqualsMemorylessWalk(JsonMasker masker, long seed, int objects) throws Exception {
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
