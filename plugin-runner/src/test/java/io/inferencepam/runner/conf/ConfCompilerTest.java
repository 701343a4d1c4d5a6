package io.inferencepam.runner.conf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.runner.spi.Header;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfCompilerTest {
    private final ConfCompiler compiler = TestFactories.compiler();
    private static final String PRE = "route#r1#ext-plugin-pre-req#1";

    private static List<Header> conf(String name, String value) {
        return List.of(new Header(name, value));
    }

    private List<ConfProblem> problems(String key, List<Header> entries) {
        try {
            compiler.compile(key, entries, 1);
            return List.of();
        } catch (InvalidConfsException e) {
            return e.problems();
        }
    }

    @Test
    void aValidConfCompilesWithItsIdentity() throws Exception {
        PreparedConf c = compiler.compile(PRE, conf("limits", "{\"max\":3}"), 77);
        assertThat(c.names()).containsExactly("limits");
        assertThat(c.identity().routeId()).isEqualTo("r1");
        assertThat(c.identity().apisixPlugin()).isEqualTo("ext-plugin-pre-req");
        assertThat(c.identity().token()).isEqualTo(77);
        assertThat(c.identity().sha256()).hasSize(64);
    }

    @Test
    void anUnknownNameFailsClosedAndListsTheKnownOnes() {
        assertThat(problems(PRE, conf("limitz", "{}"))).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("unknown plugin").contains("limits"));
    }

    @Test
    void schemaViolationsNameTheJsonPathNotTheValue() {
        List<ConfProblem> ps = problems(PRE, conf("limits", "{\"max\":0,\"models\":[\"a\",\"\"],\"secret\":7}"));
        assertThat(ps).extracting(ConfProblem::path).contains("$.max", "$.models[1]", "$.secret");
        assertThat(ps).allSatisfy(p -> assertThat(p.toString()).doesNotContain("hunter2"));
    }

    @Test
    void duplicateKeysAreRefusedNotLastOneWins() {
        assertThat(problems(PRE, conf("limits", "{\"max\":1,\"max\":1000}"))).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("duplicate key"));
    }

    @Test
    void invalidJsonDoesNotEchoTheText() {
        List<ConfProblem> ps = problems(PRE, conf("limits", "{\"secret\": sk-live-hunter2"));
        assertThat(ps).singleElement().satisfies(p -> {
            assertThat(p.message()).contains("not valid JSON");
            assertThat(p.toString()).doesNotContain("hunter2");
        });
    }

    @Test
    void trailingGarbageIsInvalid() {
        assertThat(problems(PRE, conf("limits", "{\"max\":1} {\"max\":2}"))).isNotEmpty();
    }

    @Test
    void thePluginsOwnChecksRunAfterTheSchema() {
        assertThat(problems(PRE, conf("limits", "{\"max\":13}"))).singleElement()
                .satisfies(p -> assertThat(p.path()).isEqualTo("$.max"));
    }

    @Test
    void aPluginInThePhaseItCannotServeFailsClosed() {
        assertThat(problems(PRE, conf("resp-only", "{}"))).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("does not run in the request phase"));
        assertThat(problems("route#r1#ext-plugin-post-resp#1", conf("resp-only", "{}"))).isEmpty();
    }

    @Test
    void aPluginListedTwiceIsAmbiguous() {
        assertThat(problems(PRE, List.of(new Header("limits", "{\"max\":1}"), new Header("limits", "{\"max\":2}"))))
                .singleElement().satisfies(p -> assertThat(p.entry()).isEqualTo(1));
    }

    @Test
    void everyProblemIsReportedInOnePass() {
        assertThatThrownBy(() -> compiler.compile(PRE, List.of(new Header("nope", "{}"), new Header("limits", "{}")), 1))
                .isInstanceOfSatisfying(InvalidConfsException.class, e -> assertThat(e.problems()).hasSize(2));
    }
}
