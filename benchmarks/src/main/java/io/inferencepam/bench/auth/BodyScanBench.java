package io.inferencepam.bench.auth;

import io.inferencepam.pam.auth.ModelApi;
import io.inferencepam.pam.auth.ModelOutcome;
import io.inferencepam.pam.auth.ModelRequest;
import io.inferencepam.pam.auth.ModelResolver;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 10, item 6: the cost of finding the model in a request body, before (the scan as it was,
 * {@link LegacyModelScan}) and after (pam-auth's {@link ModelResolver}: size limit, strict UTF-8,
 * case-fold check, names not interned), in the same run, on attacker-shaped and real bodies.
 * {@code current} lifts the limit to the largest frame so that the 16 MiB body is scanned;
 * {@code currentDefaultLimit} is what a route with the default {@code max_body_bytes} does.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar BodyScanBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgs = {"-Xms1g", "-Xmx1g", "-XX:+UseSerialGC"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class BodyScanBench {
    private static final ModelResolver UNLIMITED = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"), false, 16_777_215);
    private static final ModelResolver DEFAULT = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"), false);

    @Param({"keys16m", "keys8m", "chat1m", "vision4m", "chat2k"})
    public String body;

    private Body payload;
    private ModelRequest request;

    @Setup(Level.Trial)
    public void setUp() {
        payload = Body.wrap(ScanBodies.named(body));
        request = new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(payload));
        if (!(UNLIMITED.resolve(request) instanceof ModelOutcome.Resolved) || !"llama3".equals(legacy())) {
            throw new IllegalStateException(body + " does not resolve");
        }
    }

    @Benchmark
    public String legacy() {
        // the old code copied the body out of Body as well
        return LegacyModelScan.read(payload.toByteArray(), List.of("model"));
    }

    @Benchmark
    public ModelOutcome current() {
        return UNLIMITED.resolve(request);
    }

    @Benchmark
    public ModelOutcome currentDefaultLimit() {
        return DEFAULT.resolve(request);
    }
}
