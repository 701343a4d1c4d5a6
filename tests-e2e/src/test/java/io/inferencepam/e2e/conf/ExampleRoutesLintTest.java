package io.inferencepam.e2e.conf;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The routes we ship as examples must pass {@code lint} with the real plugins: documentation that
 * fails closed at PrepareConf would teach operators a broken conf. Runs the real CLI in its own JVM.
 */
class ExampleRoutesLintTest {
    static Stream<Path> routes() throws Exception {
        Path dir = Path.of(System.getProperty("user.dir")).resolve("../apisix-conf/routes").normalize();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("routes")
    void exampleRouteLintsClean(Path route) throws Exception {
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.inferencepam.runner.cli.Main", "lint", route.toString()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("OK:");
    }
}
