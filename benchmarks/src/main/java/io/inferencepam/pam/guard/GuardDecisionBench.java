package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.PathPattern;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
 * What pam-guard's endpoint decision costs per call, next to the cheapest allowlist there is (one
 * exact {@code HashSet} lookup of "METHOD path") in the same run. {@code decide} is the policy alone
 * (split the path, lower-case it, route rules, every pack, the family's endpoints); {@code onRequest}
 * the whole request phase without body checks (hygiene, decision, the recorded decision).
 * {@code chat} walks every pack entry before the family's list (the common, worst case),
 * {@code lora} is refused by the first pack, {@code unknown} falls through to allow-only-inference.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar GuardDecisionBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgs = {"-Xms512m", "-Xmx512m", "-XX:+UseSerialGC"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class GuardDecisionBench {
    private static final Map<String, String> PATHS = Map.of(
            "chat", "/v1/chat/completions",
            "lora", "/v1/load_lora_adapter",
            "unknown", "/v1/some/new/admin_endpoint");

    @Param({"chat", "lora", "unknown"})
    public String path;

    private String method;
    private String uri;
    private Set<String> allowlist;
    private EndpointPolicy policy;
    private GuardPlugin plugin;
    private HttpRequest request;
    private ConfIdentity confIdentity;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        method = "POST";
        uri = PATHS.get(path);
        allowlist = Set.of("POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings",
                "POST /v1/responses", "GET /v1/models");
        GuardConf conf = GuardConf.parse(new ObjectMapper().readTree("{}"));
        policy = new EndpointPolicy(conf.family(), conf.packs(), conf.rules(), conf.allowOnlyInference());
        plugin = new GuardPlugin(conf, List.of(), new GuardMetrics(new PrometheusMetrics()));
        request = new HttpRequest(1, method, uri, Headers.empty(), Headers.empty(), "10.0.0.1",
                Vars.of(Map.of(io.inferencepam.pam.catalog.CanonicalPath.RAW_TARGET_VAR, uri, "http_content_type", "application/json")),
                Optional.of(Body.utf8("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));
        confIdentity = ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1);
    }

    @Benchmark
    public boolean baselineExactLookup() {
        return allowlist.contains(method + " " + uri);
    }

    @Benchmark
    public EndpointPolicy.Verdict decide() {
        String[] segments = PathPattern.segments(uri);
        return policy.decide(method, segments, PathPattern.lower(segments));
    }

    @Benchmark
    public RequestDecision onRequest() {
        CallContext ctx = new CallContext(new Attributes(), Optional.of(new Attributes()), confIdentity, Instant.MAX);
        return plugin.onRequest(request, ctx).toCompletableFuture().join();
    }
}
