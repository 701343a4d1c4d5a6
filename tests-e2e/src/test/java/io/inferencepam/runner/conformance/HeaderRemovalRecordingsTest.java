package io.inferencepam.runner.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What H1–H4 (a global rule removing {@code X-Remove-Me} before {@code ext-plugin-pre-req}) show about
 * the call frame's header list, read from the recordings themselves: the question behind
 * {@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ} (docs/plugin-runner.md) is whether a frame with fewer
 * than 100 entries can lack a header APISIX forwards upstream. Request 0 sends six headers, request
 * 1 sends 120 lines with {@code X-Remove-Me} three times among the first ten and {@code X-Model} at
 * line 110.
 */
class HeaderRemovalRecordingsTest {

    @ParameterizedTest(name = "{0} request {1}: {2} frame entries, X-Model in frame {3}")
    @CsvSource({
            // removal without a prior read: the list is read fresh, 100 of the lines left
            "H1, 0, 8, true", "H1, 1, 100, false",
            "H2, 0, 8, true", "H2, 1, 100, false",
            // removal after a read: APISIX's cached first-100 table edited in place
            "H3, 0, 8, true", "H3, 1, 97, false",
            // key-auth hide_credentials: removes its key (3 lines) and adds X-Consumer-Username
            "H4, 0, 9, true", "H4, 1, 98, false",
    })
    void frameAgainstWhatApisixAnswersAndForwards(String id, int request, int entries, boolean modelInFrame) {
        Recording rec = Recording.all().stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow();
        JsonNode call = rec.frames(request).stream()
                .filter(f -> Recording.isApisixToRunner(f) && f.get("type").asInt() == 2).findFirst().orElseThrow().get("decoded");
        List<String> names = new ArrayList<>();
        call.get("headers").forEach(h -> names.add(h.get("name").asText()));
        List<String> upstream = new ArrayList<>();
        rec.upstreamReceived(request).get(0).get("headers").forEach(h -> upstream.add(h.get(0).asText().toLowerCase(Locale.ROOT)));

        assertThat(names).as("frame entries").hasSize(entries);
        assertThat(names.contains("x-model")).as("X-Model in the frame").isEqualTo(modelInFrame);
        // the removed header is gone everywhere: frame, var, upstream
        assertThat(names).doesNotContain("x-remove-me");
        assertThat(rec.varAnswer(request, "http_x_remove_me")).isEmpty();
        assertThat(upstream).doesNotContain("x-remove-me");
        // X-Model is always answered and forwarded, whatever the frame says
        assertThat(rec.varAnswer(request, "http_x_model")).hasValue("gpt-4o");
        assertThat(upstream).contains("x-model");
        if (entries < 100 && !modelInFrame) {
            // the finding: a frame under the cap is not the whole header list after a read-then-remove
            assertThat(id).isIn("H3", "H4");
        }
    }
}
