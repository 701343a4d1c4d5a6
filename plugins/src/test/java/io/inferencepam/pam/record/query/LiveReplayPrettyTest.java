package io.inferencepam.pam.record.query;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The replay diff shows a body's JSON with sorted keys and its values as they were (not the audit canonical form). */
class LiveReplayPrettyTest {
    @Test
    void keysAreSortedAndNumbersKeptAsTheyAre() {
        assertThat(String.join("\n", LiveReplay.pretty("{\"b\":12345678901234567890,\"a\":{\"y\":1.50,\"x\":1E3}}")))
                .contains("12345678901234567890").contains("1.5").contains("1000.0")
                .matches("(?s).*\"a\".*\"x\".*\"y\".*\"b\".*");
    }
}
