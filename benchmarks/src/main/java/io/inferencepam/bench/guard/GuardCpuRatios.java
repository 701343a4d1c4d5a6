package io.inferencepam.bench.guard;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import io.inferencepam.bench.mask.CpuWarmUp;
import java.util.concurrent.Callable;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The ratios of {@link GuardDecideBench} and {@link KeywordScanBench} in thread CPU time, baseline
 * and candidate interleaved in the same process: on a shared host wall-clock JMH scores swing more
 * than the effect. Methods are interleaved round by round; per method the median round.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.guard.GuardCpuRatios a   # then: … GuardCpuRatios b</pre>
 */
public final class GuardCpuRatios {
    private GuardCpuRatios() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");

        String only = args.length > 0 ? args[0] : "ab"; // each goal in its own JVM gives each its own JIT profile
        if (only.contains("a")) {
            goalA(mx, bh);
        }
        if (only.contains("b")) {
            goalB(mx, bh);
        }
        System.exit(0);
    }

    private static void goalA(ThreadMXBean mx, Blackhole bh) throws Exception {
        GuardDecideBench d = new GuardDecideBench();
        d.setUp();
        double[] a = interleaved(mx, bh, d::streamingParse, d::decide, d::treeParse, d::paramsOnly, d::promptsOnly);
        System.out.printf("(a) 4 KiB chat body: streaming parse %.2f µs | decide (tree + params + prompt rules) %.2f µs"
                + " = %.2f× the parse (goal ≤ 1.5×)%n", a[0] / 1e3, a[1] / 1e3, a[1] / a[0]);
        System.out.printf("    parts: tree parse %.2f µs (%.2f×), params %.2f µs (%.2f×), prompt rules %.2f µs (%.2f×)%n",
                a[2] / 1e3, a[2] / a[0], a[3] / 1e3, a[3] / a[0], a[4] / 1e3, a[4] / a[0]);
    }

    private static void goalB(ThreadMXBean mx, Blackhole bh) throws Exception {
        KeywordScanBench k = new KeywordScanBench();
        k.setUp();
        double[] b = interleaved(mx, bh, k::byteScan, k::keywordRule, k::tableAutomaton);
        System.out.printf("(b) 64 KiB text, 10,000 terms: byte scan %.1f µs | keyword rule %.1f µs = %.3f× the speed (goal ≥ 0.25×)"
                + " | pam-mask's table automaton %.1f µs = %.3f×%n", b[0] / 1e3, b[1] / 1e3, b[0] / b[1], b[2] / 1e3, b[0] / b[2]);
    }

    /** Least thread CPU each method is warmed up for before the plateau test may end its warm-up. */
    private static final long WARM_UP_CPU_NS = 2_000_000_000L;

    /**
     * CPU-ns per op of each method: each warmed up until the JIT has settled ({@link CpuWarmUp}: at
     * least {@value #WARM_UP_CPU_NS} ns of thread CPU, then until its rounds stop improving; a fixed
     * two-second warm-up ended, on a host at load 10-20, while parts of the decision still ran in C1
     * code), then 21 rounds in which every method runs for about 30 ms of CPU in turn (so load changes
     * on the host hit all of them alike); per method the median round. The clock is read once per
     * batch of calls worth about 0.2 ms (sized from the warm-up's last round), not per call: reading
     * thread CPU time is a system call (1.1-1.4 µs of CPU per read on the shared host), which added
     * that much to every call of every method and pulled ratios towards 1.
     */
    public static double[] interleaved(ThreadMXBean mx, Blackhole bh, Callable<?>... ops) throws Exception {
        Runnable[] runs = new Runnable[ops.length];
        for (int m = 0; m < ops.length; m++) {
            Callable<?> op = ops[m];
            runs[m] = () -> {
                try {
                    bh.consume(op.call());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
        }
        for (Runnable run : runs) {
            CpuWarmUp.warm(mx, run, 200, WARM_UP_CPU_NS);
        }
        int[] batch = new int[ops.length];
        for (int m = 0; m < ops.length; m++) {
            // once more after every method ran (they share code whose profile the later ones changed); the
            // round reads the clock per call, so its figure is high by about 1 µs: good enough for a batch size
            double nsPerCall = CpuWarmUp.round(mx, runs[m], 200);
            batch[m] = (int) Math.max(1, Math.min(100_000, 200_000 / Math.max(1.0, nsPerCall)));
        }
        double[][] rounds = new double[ops.length][21];
        for (int r = 0; r < 21; r++) {
            for (int m = 0; m < ops.length; m++) {
                Callable<?> op = ops[m];
                int k = batch[m];
                long cpu0 = mx.getCurrentThreadCpuTime();
                long n = 0;
                while (n < 10 || mx.getCurrentThreadCpuTime() - cpu0 < 30_000_000L) {
                    for (int i = 0; i < k; i++) {
                        bh.consume(op.call());
                    }
                    n += k;
                }
                rounds[m][r] = (double) (mx.getCurrentThreadCpuTime() - cpu0) / n;
            }
        }
        double[] out = new double[ops.length];
        for (int m = 0; m < ops.length; m++) {
            java.util.Arrays.sort(rounds[m]);
            out[m] = rounds[m][rounds[m].length / 2];
        }
        return out;
    }
}
