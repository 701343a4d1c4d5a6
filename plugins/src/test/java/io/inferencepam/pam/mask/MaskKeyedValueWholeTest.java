package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A value under a secret-bearing key is masked whole, whatever characters it holds. */
class MaskKeyedValueWholeTest {
    static final Plugin PLUGIN = plugin("{}");

    @ParameterizedTest
    @ValueSource(strings = {"Tr0ub4dor&3xyzzy", "a b&c=d;e", "p@ss word!", "x?y=z&w"})
    void aPasswordValueIsMaskedWhole(String secret) {
        String in = "{\"user\":\"bob\",\"password\":\"" + secret + "\"}";
        String out = bodyOf(run(PLUGIN, response("application/json", in.getBytes(StandardCharsets.UTF_8)), context()));
        assertThat(out).as(out).doesNotContain(secret.substring(secret.length() - 4));
    }
}
