package io.inferencepam.pam.guard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.bench.guard.GuardCpuRatios;
import io.inferencepam.bench.guard.GuardInputs;
import io.inferencepam.pam.guard.params.ParamBodyCheck;
import io.inferencepam.pam.guard.prompt.PromptBodyCheck;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 11 goal (a): pam-guard's whole request phase on a 4 KiB chat-completions body (hygiene,
 * endpoint, strict parse, every body policy) against a plain Jackson streaming parse of the same
 * bytes, in the same run, for three confs: {@code {}} (no body policy: the body is not parsed),
 * the parameter policy, and the parameter policy with prompt rules (four secret regexes, a
 * 20-phrase and a 10-codename list, a 100-term and a 10,000-term list). The {@code tree*} variants
 * run the same policies through the whole-tree path the checks had before the streaming pass (their
 * checks do not say what they read), as a before/after in one run. The body passes every rule (the
 * common case). CPU-time ratios on a busy host: {@link #main}.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar GuardBodyDecideBench
 * java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.guard.GuardBodyDecideBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgs = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GuardBodyDecideBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFactory PLAIN = new JsonFactory();

    public byte[] body;
    /** The body's text the prompt rules read (every message content), for {@link #readText}. */
    public String[] texts;
    private HttpRequest request;
    private ConfIdentity confIdentity;
    private GuardPlugin empty;
    private GuardPlugin params;
    private GuardPlugin paramsAndPrompts;
    private GuardPlugin treeParams;
    private GuardPlugin treeParamsAndPrompts;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        body = GuardInputs.chatBody(4096);
        List<String> t = new ArrayList<>();
        JSON.readTree(body).path("messages").forEach(m -> t.add(m.path("content").asText()));
        texts = t.toArray(String[]::new);
        request = new HttpRequest(1, "POST", "/v1/chat/completions", Headers.empty(), Headers.empty(), "10.0.0.1",
                Vars.of(Map.of(io.inferencepam.pam.catalog.CanonicalPath.RAW_TARGET_VAR, "/v1/chat/completions", "http_content_type", "application/json")),
                Optional.of(Body.wrap(body)));
        confIdentity = ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1);
        ObjectNode prompts = (ObjectNode) GuardInputs.promptConf();
        ArrayNode rules = (ArrayNode) prompts.get("rules");
        rules.add(list("terms-100", GuardInputs.terms(100).subList(0, 100)));
        rules.add(list("terms-10k", GuardInputs.terms(10_000)));
        ObjectNode both = JSON.createObjectNode();
        both.set("params", GuardInputs.paramsConf());
        both.set("prompt_rules", prompts);
        ObjectNode onlyParams = JSON.createObjectNode();
        onlyParams.set("params", GuardInputs.paramsConf());
        empty = plugin(JSON.createObjectNode(), false);
        params = plugin(onlyParams, false);
        paramsAndPrompts = plugin(both, false);
        treeParams = plugin(onlyParams, true);
        treeParamsAndPrompts = plugin(both, true);
        for (Supplier<Object> s : List.<Supplier<Object>>of(this::decideEmpty, this::decideParams, this::decideParamsAndPrompts,
                this::treeParams, this::treeParamsAndPrompts)) {
            Object d = s.get();
            if (!(d instanceof RequestDecision.Proceed p) || p.rewrite().body().isPresent()) {
                throw new IllegalStateException("the benchmark body should pass every rule unchanged: " + d);
            }
        }
    }

    private static ObjectNode list(String id, List<String> terms) {
        ObjectNode rule = JSON.createObjectNode().put("id", id).put("action", "flag");
        ArrayNode kw = rule.putArray("keywords");
        terms.forEach(kw::add);
        return rule;
    }

    private static GuardPlugin plugin(ObjectNode conf, boolean wholeTree) throws Exception {
        List<BodyCheck> checks = new ArrayList<>();
        for (BodyCheck.Factory f : List.of(new ParamBodyCheck.Factory(), new PromptBodyCheck.Factory())) {
            Optional<BodyCheck> c = f.create(conf.path(f.confKey()));
            // a lambda does not override reads(): the check is handed the whole tree, as before the streaming pass
            c.map(check -> wholeTree ? (BodyCheck) (shape, model, b, facts) -> check.check(shape, model, b, facts) : check)
                    .ifPresent(checks::add);
        }
        return new GuardPlugin(GuardConf.parse(conf), checks, new GuardMetrics(new PrometheusMetrics()));
    }

    private RequestDecision run(GuardPlugin plugin) {
        CallContext ctx = new CallContext(new Attributes(), Optional.of(new Attributes()), confIdentity, Instant.MAX);
        return plugin.onRequest(request, ctx).toCompletableFuture().join();
    }

    /** Baseline: every token read by Jackson's streaming parser, strings decoded (what any reader of the text pays). */
    @Benchmark
    public long streamingParse() throws IOException {
        long n = 0;
        try (JsonParser p = PLAIN.createParser(body)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                n += t == JsonToken.VALUE_STRING ? p.getTextLength() : 1;
            }
        }
        return n;
    }

    /** The leanest streaming pass: tokens only, strings skipped undecoded. */
    @Benchmark
    public long streamingTokens() throws IOException {
        long n = 0;
        try (JsonParser p = PLAIN.createParser(body)) {
            while (p.nextToken() != null) {
                n++;
            }
        }
        return n;
    }

    /**
     * The floor of any rule over the text: each character of the body's text read once and nothing
     * else (no parse, no matching). Prompt-rule costs are quoted per KiB of this text against it.
     */
    @Benchmark
    public long readText() {
        long n = 0;
        for (String s : texts) {
            for (int i = 0; i < s.length(); i++) {
                n += s.charAt(i);
            }
        }
        return n;
    }

    /** Characters of text in the body (what {@link #readText} reads). */
    public int textChars() {
        int n = 0;
        for (String s : texts) {
            n += s.length();
        }
        return n;
    }

    @Benchmark
    public Object decideEmpty() {
        return run(empty);
    }

    @Benchmark
    public Object decideParams() {
        return run(params);
    }

    @Benchmark
    public Object decideParamsAndPrompts() {
        return run(paramsAndPrompts);
    }

    @Benchmark
    public Object treeParams() {
        return run(treeParams);
    }

    @Benchmark
    public Object treeParamsAndPrompts() {
        return run(treeParamsAndPrompts);
    }

    /**
     * The same methods in thread CPU time, interleaved round by round, per method the median round
     * ({@link GuardCpuRatios#interleaved}): on the shared host wall-clock scores swing more than the effect.
     */
    public static void main(String[] args) throws Exception {
        GuardBodyDecideBench b = new GuardBodyDecideBench();
        b.setUp();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        double[] ns = GuardCpuRatios.interleaved(ManagementFactory.getThreadMXBean(), bh, b::streamingParse, b::streamingTokens,
                b::readText, b::decideEmpty, b::decideParams, b::decideParamsAndPrompts, b::treeParams, b::treeParamsAndPrompts);
        String[] names = {"streaming parse (baseline)", "streaming tokens only", "read the text only", "decide, conf {}",
                "decide, params", "decide, params + prompt rules", "tree path, params", "tree path, params + prompt rules"};
        System.out.printf("4 KiB chat body (%d B, %d characters of text), thread CPU per call (median round):%n", b.body.length,
                b.textChars());
        for (int i = 0; i < ns.length; i++) {
            System.out.printf("  %-34s %8.2f µs  %5.2f× baseline  %5.2f× tokens-only%n", names[i], ns[i] / 1e3, ns[i] / ns[0],
                    ns[i] / ns[1]);
        }
        double kib = b.textChars() / 1024.0;
        System.out.printf("  body part of params (params − {}): %.2f× baseline; prompt rules (params + prompts − params): "
                        + "%.1f µs per KiB of text = %.1f× reading that text%n", (ns[4] - ns[3]) / ns[0], (ns[5] - ns[4]) / 1e3 / kib,
                (ns[5] - ns[4]) / ns[2]);
        System.exit(0);
    }
}
