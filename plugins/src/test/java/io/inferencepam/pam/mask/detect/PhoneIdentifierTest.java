package io.inferencepam.pam.mask.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A UUID whose leading groups are digits is not a phone. On main only a single digit group followed
 * by {@code -} and a letter was recognised as an id; the CI of session 6 drew {@code 00431200-0000-0000-b000-00000000000e} in {@code MaskProperties} and
 * masked it as +43 1200 0000 0000.
 */
class PhoneIdentifierTest {
    private static final PhoneDetector DETECTOR = new PhoneDetector(List.of("US", "GB", "DE", "FR", "JP", "IT", "CH"));

    private static List<String> found(String text) {
        List<String> out = new ArrayList<>();
        DETECTOR.scan(text, (start, end) -> out.add(text.substring(start, end)));
        return out;
    }

    @Test
    void aUuidWhoseLeadingGroupsAreDigitsIsNotAPhone() {
        assertThat(found("id 00431200-0000-0000-b000-00000000000e done")).isEmpty();
        assertThat(found("id 00431200-0000-0000-0000-000000000000 done")).isEmpty();
        assertThat(found("id 04378932-b215-4b5c-9a1e-000000000000 done")).isEmpty();
    }

    @Test
    void groupedPhonesStillMatch() {
        assertThat(found("call +43 1 2000 0000 now")).containsExactly("+43 1 2000 0000");
        assertThat(found("call +1 415-555-0100, or")).containsExactly("+1 415-555-0100");
        assertThat(found("call 0043 1200 0000 0000 - ask for Ana")).isNotEmpty();
        assertThat(found("call 415-555-0132-ext now")).containsExactly("415-555-0132");
    }
}
