package io.inferencepam.pam.record;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * What the admitted entry adds to pam-record's CPU per call, as a same-run ratio that a loaded
 * host does not distort much: <b>thread CPU time</b> (not wall time) of the whole audit work of a
 * call — the plugin-thread part and building and linking its entries — without the admitted entry
 * ({@link RecordBuildBenchmark#buildAndLink}) and with it ({@link RecordBuildBenchmark#buildAndLinkAdmitted}),
 * in alternating blocks so both see the same machine. JMH's wall-clock scores swing by ±100 % when
 * other builds share the two cores; CPU time only counts the time the thread ran.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.record.AdmissionCpuBench [seconds=60] [block=2000]</pre>
 */
public final class AdmissionCpuBench {
    private AdmissionCpuBench() {
    }

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int block = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        RecordBuildBenchmark b = new RecordBuildBenchmark();
        b.body = 1024;
        b.setUp();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int i = 0; i < 50_000; i++) { // JIT warm-up of both paths
            sink += b.buildAndLink().length + b.buildAndLinkAdmitted().length;
        }
        int rounds = 0;
        double[] before = new double[10_000];
        double[] after = new double[10_000];
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end && rounds < before.length) {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < block; i++) {
                sink += b.buildAndLink().length;
            }
            long t1 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < block; i++) {
                sink += b.buildAndLinkAdmitted().length;
            }
            long t2 = mx.getCurrentThreadCpuTime();
            before[rounds] = (t1 - t0) / 1e3 / block;
            after[rounds] = (t2 - t1) / 1e3 / block;
            rounds++;
        }
        double[] ratios = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            ratios[i] = after[i] / before[i];
        }
        System.out.printf(Locale.ROOT, "rounds %d of %d calls each; CPU µs per call (median): without admitted entry %.2f, with %.2f; "
                        + "ratio median %.3f (p10 %.3f, p90 %.3f)  [%d]%n",
                rounds, block, median(before, rounds), median(after, rounds), median(ratios, rounds),
                pct(ratios, rounds, 10), pct(ratios, rounds, 90), sink % 10);
    }

    private static double median(double[] v, int n) {
        return pct(v, n, 50);
    }

    private static double pct(double[] v, int n, int p) {
        double[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return s[Math.min(n - 1, (int) Math.floor(p / 100.0 * (n - 1) + 0.5))];
    }
}
