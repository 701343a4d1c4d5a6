package io.inferencepam.runner.conf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class RouteLinterTest {
    private final RouteLinter linter = new RouteLinter(TestFactories.compiler());

    private List<RouteLinter.Finding> lint(String json) throws Exception {
        return linter.lint(ConfCompiler.STRICT_JSON.readTree(json));
    }

    @Test
    void pointsAtTheFieldInsideTheSerializedValue() throws Exception {
        var findings = lint("""
                {"uri":"/v1/*","plugins":{"ext-plugin-pre-req":{"conf":[
                  {"name":"limits","value":"{\\"max\\":1}"},
                  {"name":"limits2","value":"{}"}]}}}""");
        assertThat(findings).extracting(RouteLinter.Finding::path)
                .containsExactly("$.plugins['ext-plugin-pre-req'].conf[1].value");
        assertThat(findings.get(0).severity()).isEqualTo(RouteLinter.Severity.ERROR);
    }

    @Test
    void nestedPathsAreJoined() throws Exception {
        var findings = lint("""
                {"plugins":{"ext-plugin-pre-req":{"conf":[{"name":"limits","value":"{\\"max\\":0}"}]}}}""");
        assertThat(findings).extracting(RouteLinter.Finding::path).containsExactly("$.plugins['ext-plugin-pre-req'].conf[0].value.max");
    }

    @Test
    void allowDegradationIsAnError() throws Exception {
        var findings = lint("""
                {"plugins":{"ext-plugin-pre-req":{"allow_degradation":true,"conf":[{"name":"limits","value":"{\\"max\\":1}"}]}}}""");
        assertThat(findings).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(RouteLinter.Severity.ERROR);
            assertThat(f.message()).contains("fail open");
        });
    }

    @Test
    void aPostRespConfTheRunnerWouldFailClosedIsStillAnError() throws Exception {
        // at PrepareConf the runner answers such a conf with a fail-closed token (every call gets the
        // safe 503, conformance P11) instead of an RPC_ERROR: lint is where the operator learns of it
        var findings = lint("""
                {"plugins":{"ext-plugin-pre-req":{"conf":[{"name":"limits","value":"{\\"max\\":1}"}]},
                 "ext-plugin-post-resp":{"conf":[{"name":"resp-only","value":"not json"},{"name":"nope","value":"{}"}]}}}""");
        assertThat(findings).extracting(RouteLinter.Finding::severity).containsOnly(RouteLinter.Severity.ERROR);
        assertThat(findings).extracting(RouteLinter.Finding::path).containsExactly(
                "$.plugins['ext-plugin-post-resp'].conf[0].value", "$.plugins['ext-plugin-post-resp'].conf[1].value");
    }

    @Test
    void postRespWithoutPreReqIsWarned() throws Exception {
        var findings = lint("""
                {"plugins":{"ext-plugin-post-resp":{"conf":[{"name":"resp-only","value":"{}"}]}}}""");
        assertThat(findings).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(RouteLinter.Severity.WARNING);
            assertThat(f.message()).contains("unmasked");
        });
    }

    @Test
    void aRouteWithoutExtPluginsIsWarned() throws Exception {
        assertThat(lint("{\"plugins\":{}}")).singleElement()
                .satisfies(f -> assertThat(f.severity()).isEqualTo(RouteLinter.Severity.WARNING));
    }
}
