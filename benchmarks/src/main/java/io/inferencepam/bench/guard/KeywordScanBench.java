package io.inferencepam.bench.guard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.prompt.PromptMatch;
import io.inferencepam.pam.guard.prompt.PromptRules;
import io.inferencepam.pam.mask.detect.AhoCorasick;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
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
 * Issue 11 goal (b): a 10,000-term keyword list (case-insensitive) scanned through
 * {@link PromptRules} — normalization and the org.ahocorasick automaton — over 64 KiB of prose, against
 * a plain byte scan (counting one byte) of the same text, in the same run. For comparison, the
 * table-driven automaton pam-mask already has ({@link AhoCorasick}) on the same terms and text.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar KeywordScanBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgs = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KeywordScanBench {
    static final int TEXT_CHARS = 64 * 1024;

    String text;
    byte[] bytes;
    ObjectNode body;
    PromptRules rules;
    AhoCorasick tableAutomaton;

    @Setup(Level.Trial)
    public void setUp() {
        List<String> terms = GuardInputs.terms(10_000);
        text = GuardInputs.prose(new SplittableRandom(3), TEXT_CHARS);
        bytes = text.getBytes(StandardCharsets.UTF_8);
        body = GuardInputs.JSON.createObjectNode().put("inputs", text);
        ObjectNode conf = GuardInputs.JSON.createObjectNode();
        ObjectNode rule = conf.putArray("rules").addObject().put("id", "terms");
        ArrayNode kw = rule.putArray("keywords");
        terms.forEach(kw::add);
        rules = PromptRules.fromConf(conf);
        tableAutomaton = new AhoCorasick(terms, true);
    }

    /** Baseline: one pass over the same bytes, counting one byte. */
    @Benchmark
    public long byteScan() {
        long n = 0;
        for (byte b : bytes) {
            n += b == 'e' ? 1 : 0;
        }
        return n;
    }

    /** The prompt-rule path: normalize (ASCII fast path, lower-casing copy) and the library automaton. */
    @Benchmark
    public List<PromptMatch> keywordRule() {
        return rules.scan(BodyShape.TGI_GENERATE, body);
    }

    /** For comparison only: pam-mask's hand-written automaton (complete ASCII transition table). */
    @Benchmark
    public int tableAutomaton() {
        int[] hits = new int[1];
        tableAutomaton.scan(text, (s, e) -> hits[0]++);
        return hits[0];
    }
}
