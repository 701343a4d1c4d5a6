package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** JSON bodies: a masked string is replaced in place; every other byte stays as the upstream wrote it. */
class MaskJsonLayoutTest {
    static String mask(String contentType, String body) {
        return bodyOf(run(plugin("{}"), response(contentType, body.getBytes(StandardCharsets.UTF_8)), context()));
    }

    @Test
    void spacingEscapesNumbersAndNonAsciiOutsideMaskedStringsStay() {
        String in = "{ \"id\" : \"c\\u0031\",\n  \"x\": 1.0e3, \"n\": -0.50,\n  \"choices\": [ { \"message\": { \"content\": "
                + "\"caf\u00e9 \\u2014 mail jane\\u0040example.org \\\"ok\\\"\\n\" } } ] }\n";
        assertThat(mask("application/json", in)).isEqualTo(in.replace("\"caf\u00e9 \\u2014 mail jane\\u0040example.org \\\"ok\\\"\\n\"",
                "\"caf\u00e9 \u2014 mail [EMAIL] \\\"ok\\\"\\n\""));
    }

    @Test
    void ndjsonKeepsItsLinesAndToolCallArgumentsAreStillMaskedAsJson() {
        String in = "{\"message\":{\"content\":\"a 4111 1111 1111 1111\"}}\n{\"done\":false}\r\n"
                + "{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"to\\\": \\\"bob@example.com\\\", \\\"n\\\": 2}\"}}]}}\n";
        assertThat(mask("application/x-ndjson", in)).isEqualTo("{\"message\":{\"content\":\"a [CARD]\"}}\n{\"done\":false}\r\n"
                + "{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"to\\\":\\\"[EMAIL]\\\",\\\"n\\\":2}\"}}]}}\n");
    }

    /** An unpaired surrogate next to a masked value is not silently turned into '?': the response fails closed. */
    @Test
    void aMaskedStringWithAnUnpairedSurrogateFailsClosed() {
        HttpResponse out = run(plugin("{}"), response("application/json",
                "{\"a\":\"\\ud800 jane@example.com\"}".getBytes(StandardCharsets.UTF_8)), context());
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_unscannable").doesNotContain("jane");
    }
}
