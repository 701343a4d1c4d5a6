package io.inferencepam.pam.guard;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.catalog.Catalog;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.Pack;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The doc page lists every pack entry the code enforces (and the attributes the schema accepts). */
class GuardDocsTest {
    @Test
    void everyRuleIdAndAttributeIsDocumented() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "plugins", "pam-guard.md"));
        for (Pack p : Catalog.PACKS) {
            for (Endpoint e : p.endpoints()) {
                assertThat(doc).as(p.ruleId(e)).contains("`" + p.ruleId(e) + "`");
            }
        }
        for (String attr : new String[] {"family", "mode", "disabled_packs", "allow_only_inference", "rules", "max_body_bytes"}) {
            assertThat(doc).contains("| `" + attr + "` |");
            assertThat(GuardConf.PROPERTIES).contains("\"" + attr + "\"");
        }
    }
}
