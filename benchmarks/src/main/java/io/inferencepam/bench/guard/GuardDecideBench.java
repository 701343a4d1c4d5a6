package io.inferencepam.bench.guard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.params.ParamOutcome;
import io.inferencepam.pam.guard.params.ParamPolicy;
import io.inferencepam.pam.guard.prompt.PromptMatch;
import io.inferencepam.pam.guard.prompt.PromptRules;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Issue 11 goal (a): deciding a 4 KiB chat-completions body — Jackson tree parse, the parameter
 * policy and the prompt rules (two phrase lists, four secret regexes) — against a plain Jackson
 * streaming parse of the same bytes, in the same run. The parts are measured alone too, to say where
 * the time goes. CPU-time ratios on a busy host: {@link GuardCpuRatios}.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar GuardDecideBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgs = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GuardDecideBench {
    static final JsonFactory FACTORY = GuardInputs.JSON.getFactory();

    public byte[] body;
    public ObjectNode tree;
    public ParamPolicy params;
    public PromptRules prompts;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        body = GuardInputs.chatBody(4096);
        tree = (ObjectNode) GuardInputs.JSON.readTree(body);
        params = ParamPolicy.fromConf(GuardInputs.paramsConf());
        prompts = PromptRules.fromConf(GuardInputs.promptConf());
        if (!(decide() instanceof ParamOutcome.Pass) || !prompts.scan(BodyShape.OPENAI_CHAT, tree).isEmpty()) {
            throw new IllegalStateException("the benchmark body should pass every rule (the common case)");
        }
    }

    /** Baseline: every token of the body read by Jackson's streaming parser, strings decoded. */
    @Benchmark
    public long streamingParse() throws IOException {
        long n = 0;
        try (JsonParser p = FACTORY.createParser(body)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                n += t == JsonToken.VALUE_STRING ? p.getTextLength() : 1;
            }
        }
        return n;
    }

    /** Tree parse, parameter policy and prompt rules: what pam-guard does with a body. */
    @Benchmark
    public Object decide() throws IOException {
        ObjectNode t = (ObjectNode) GuardInputs.JSON.readTree(body);
        ParamOutcome o = params.apply(BodyShape.OPENAI_CHAT, t.path("model").asText(), t);
        List<PromptMatch> m = prompts.scan(BodyShape.OPENAI_CHAT, t);
        return m.isEmpty() ? o : m;
    }

    @Benchmark
    public Object treeParse() throws IOException {
        return GuardInputs.JSON.readTree(body);
    }

    @Benchmark
    public ParamOutcome paramsOnly() {
        return params.apply(BodyShape.OPENAI_CHAT, "llama-3.1-70b-instruct", tree);
    }

    @Benchmark
    public List<PromptMatch> promptsOnly() {
        return prompts.scan(BodyShape.OPENAI_CHAT, tree);
    }
}
