package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The conf attributes of issue 13 (phone_regions, not_personal), through the runtime's conf compiler. */
class MaskConfRecallTest {
    static String maskText(Plugin p, String text) {
        return bodyOf(MaskTestSupport.run(p, response("text/plain", text.getBytes(StandardCharsets.UTF_8)), context()));
    }

    @Test
    void phoneRegionsDecideWhichDomesticNumbersAreValid() {
        String text = "appelez le 06.12.34.56.78 ou +49 30 1234567";
        assertThat(maskText(plugin("{}"), text)).isEqualTo("appelez le [PHONE] ou [PHONE]");
        // a US-only route: the French domestic number is not a US number; '+' numbers are valid anywhere
        assertThat(maskText(plugin("{\"phone_regions\":[\"US\"]}"), text)).isEqualTo("appelez le 06.12.34.56.78 ou [PHONE]");
        assertThat(maskText(plugin("{\"phone_regions\":[\"FR\"]}"), text)).isEqualTo("appelez le [PHONE] ou [PHONE]");
    }

    @Test
    void unknownRegionsAreRejectedAtConfTime() {
        assertThatThrownBy(() -> plugin("{\"phone_regions\":[\"XX\"]}")).hasMessageContaining("phone_regions").hasMessageContaining("XX");
        assertThatThrownBy(() -> plugin("{\"phone_regions\":[\"fr\"]}")).hasMessageContaining("phone_regions");
    }

    @Test
    void notPersonalValuesCanBeMaskedToo() {
        String text = "bind 127.0.0.1, doc 192.0.2.1, Chrome/125.0.0.0, git@github.com:a/b.git";
        assertThat(maskText(plugin("{}"), text)).isEqualTo(text);
        assertThat(maskText(plugin("{\"not_personal\":[]}"), text))
                .isEqualTo("bind [IPV4], doc [IPV4], Chrome/[IPV4], [EMAIL]:a/b.git");
        assertThat(maskText(plugin("{\"not_personal\":[\"loopback\"]}"), text))
                .isEqualTo("bind 127.0.0.1, doc [IPV4], Chrome/[IPV4], [EMAIL]:a/b.git");
    }
}
