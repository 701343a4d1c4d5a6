package io.inferencepam.bench.guard;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.Callable;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The ratios of {@link GuardDecideBench} and {@link KeywordScanBench} in thread CPU time, baseline
 * and candidate interleaved in the same process: on a shared host wall-clock JMH scores swing more
 * than the effect. Per method: warm-up, then the median of 15 rounds of CPU-ns per operation.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.guard.GuardCpuRatios</pre>
 */
public final class GuardCpuRatios {
    private GuardCpuRatios() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");

        GuardDecideBench d = new GuardDecideBench();
        d.setUp();
        double stream = measure(mx, bh, d::streamingParse);
        double decide = measure(mx, bh, d::decide);
        double tree = measure(mx, bh, d::treeParse);
        double params = measure(mx, bh, d::paramsOnly);
        double prompts = measure(mx, bh, d::promptsOnly);
        System.out.printf("(a) 4 KiB chat body: streaming parse %.2f µs | decide %.2f µs = %.2f× the parse (goal ≤ 1.5×)%n",
                stream / 1e3, decide / 1e3, decide / stream);
        System.out.printf("    parts: tree parse %.2f µs (%.2f×), params %.2f µs, prompt rules %.2f µs%n",
                tree / 1e3, tree / stream, params / 1e3, prompts / 1e3);

        KeywordScanBench k = new KeywordScanBench();
        k.setUp();
        double scan = measure(mx, bh, k::byteScan);
        double rule = measure(mx, bh, k::keywordRule);
        double table = measure(mx, bh, k::tableAutomaton);
        System.out.printf("(b) 64 KiB text, 10,000 terms: byte scan %.1f µs | keyword rule %.1f µs = %.3f× the speed (goal ≥ 0.25×)"
                + " | table automaton %.1f µs = %.3f×%n", scan / 1e3, rule / 1e3, scan / rule, table / 1e3, scan / table);
        System.exit(0);
    }

    private static double measure(ThreadMXBean mx, Blackhole bh, Callable<?> op) throws Exception {
        for (long end = System.nanoTime() + 3_000_000_000L; System.nanoTime() < end; ) {
            bh.consume(op.call());
        }
        double[] rounds = new double[15];
        for (int r = 0; r < rounds.length; r++) {
            long cpu0 = mx.getCurrentThreadCpuTime();
            int ops = 0;
            while (ops < 20 || mx.getCurrentThreadCpuTime() - cpu0 < 50_000_000L) {
                bh.consume(op.call());
                ops++;
            }
            rounds[r] = (double) (mx.getCurrentThreadCpuTime() - cpu0) / ops;
        }
        java.util.Arrays.sort(rounds);
        return rounds[rounds.length / 2];
    }
}
