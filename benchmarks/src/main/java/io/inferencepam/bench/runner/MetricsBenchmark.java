package io.inferencepam.bench.runner;

import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.Metrics;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A labelled counter increment, as the runtime does three times per call (and plugins more).
 * Before/after in the same class: {@code beforeLabelTextKey} is the previous implementation (build
 * and escape the exposition label text, then look it up), kept here for comparison;
 * {@code runtimeBoundSeriesInc} is the series found once ({@link Metrics.Counter#labels}), as the
 * runtime now updates the series of every answered call; baseline: a bare {@link LongAdder}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3)
@Threads(2)
public class MetricsBenchmark {
    private static final String[] NAMES = {"type", "result"};
    private final Metrics.Counter counter = new PrometheusMetrics().counter("pam_runner_rpc_total", "RPCs", NAMES);
    private final Map<String, LongAdder> before = new ConcurrentHashMap<>();
    private final LongAdder bare = new LongAdder();
    private final Metrics.Counter.Series bound = counter.labels("http_req_call", "answered");

    @Benchmark
    public void runtimeCounterInc() {
        counter.inc("http_req_call", "answered");
    }

    @Benchmark
    public void runtimeBoundSeriesInc() {
        bound.inc();
    }

    @Benchmark
    public void beforeLabelTextKey() {
        before.computeIfAbsent(labelKey(NAMES, new String[] {"http_req_call", "answered"}), k -> new LongAdder()).add(1);
    }

    @Benchmark
    public void baselineBareLongAdder() {
        bare.increment();
    }

    private static String labelKey(String[] names, String[] values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            sb.append(i == 0 ? "" : ",").append(names[i]).append("=\"").append(escape(values[i])).append('"');
        }
        return sb.toString();
    }

    private static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
