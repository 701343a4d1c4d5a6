package io.inferencepam.pam.mask.structure;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.Detector;
import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.DictionaryDetector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: the SSE walk, like the JSON walk, takes the values every streamed response repeats
 * ("chat.completion.chunk", "assistant") as clean only when this conf's detectors leave them alone.
 */
class SseKnownStringsTest {
    private static final String EVENTS = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
            + "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

    private static SseMasker masker(List<Detector> custom) {
        List<Detector> detectors = new ArrayList<>(BuiltinDetectors.names().stream().map(BuiltinDetectors::create).toList());
        detectors.addAll(custom);
        Redactor redactor = new Redactor(new DetectorSet(detectors, Set.of()), Map.of(), Optional.empty());
        return new SseMasker(redactor, new JsonMasker(redactor), StreamShapes.BUILTIN);
    }

    @Test
    void aCustomDetectorStillMasksTheValuesEveryStreamRepeats() {
        SseMasker m = masker(List.of(new DictionaryDetector("house_words", List.of("assistant", "stop"), true, true)));
        MaskTally tally = new MaskTally();
        String masked = m.mask(EVENTS, tally, () -> { });
        assertThat(masked).doesNotContain("\"assistant\"").doesNotContain("\"stop\"").contains("\"role\":\"[HOUSE_WORDS]\"")
                .contains("\"finish_reason\":\"[HOUSE_WORDS]\"").contains("chat.completion.chunk");
        assertThat(tally.counts()).isEqualTo(Map.of("house_words", 2));
    }

    @Test
    void theValuesEveryStreamRepeatsAreNotScannedPerBody() {
        SpyDetector spy = new SpyDetector();
        List<String> scanned = spy.scanned;
        SseMasker m = masker(List.of(spy));
        scanned.clear(); // the conf's known strings were scanned once when the maskers were built
        assertThat(m.mask(EVENTS, new MaskTally(), () -> { })).isEqualTo(EVENTS);
        assertThat(scanned).doesNotContain("chat.completion.chunk", "assistant", "stop").contains("chatcmpl-1", "Hi there");
    }

    /** Integers outside the streamed text are masked as in a JSON body (review B, session 6: on main they passed). */
    @Test
    void aCardOrAnSsnSentAsAnIntegerBesideTheStreamIsMasked() {
        String events = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],"
                + "\"user\":{\"ssn\":123456789,\"card\":4111111111111111,\"n\":[{\"a\":1},4111111111111111]}}\n\ndata: [DONE]\n\n";
        MaskTally tally = new MaskTally();
        String masked = masker(List.of()).mask(events, tally, () -> { });
        assertThat(masked).doesNotContain("123456789").doesNotContain("4111111111111111").contains("\"index\":0").contains("Hi");
        assertThat(tally.total()).isEqualTo(3);
    }
}
