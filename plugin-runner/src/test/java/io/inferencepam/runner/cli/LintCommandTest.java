package io.inferencepam.runner.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LintCommandTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private Run lint(String json) throws Exception {
        Path f = dir.resolve("route.json");
        Files.writeString(f, json);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = LintCommand.lint(f, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aCleanRouteExitsZero() throws Exception {
        Run r = lint("""
                {"plugins":{"ext-plugin-pre-req":{"conf":[{"name":"limits","value":"{\\"max\\":2}"}]}}}""");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("OK: no problems");
    }

    @Test
    void problemsArePrintedWithTheirPathAndExitOne() throws Exception {
        Run r = lint("""
                {"plugins":{"ext-plugin-pre-req":{"conf":[{"name":"limits","value":"{\\"max\\":2,\\"models\\":[7],\\"secret\\":\\"sk-hunter2\\"}"}]}}}""");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("ERROR $.plugins['ext-plugin-pre-req'].conf[0].value.models[0]: (limits)")
                .doesNotContain("hunter2");
    }

    @Test
    void unreadableInputExitsTwo() throws Exception {
        Run r = lint("{not json");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("not readable as JSON");
    }

    @Test
    void theCommandLineWiresLint() throws Exception {
        Path f = dir.resolve("r.json");
        Files.writeString(f, "{\"plugins\":{}}");
        int code = new picocli.CommandLine(new Main()).execute("lint", f.toString());
        assertThat(code).isZero();
    }
}
