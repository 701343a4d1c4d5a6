package io.inferencepam.bench.mask;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ratios of {@link MaskBenchmark} measured in thread CPU time instead of wall time, for hosts
 * where other processes oversubscribe the CPUs (wall-clock JMH scores then swing by 10× between
 * iterations). Same inputs, same methods; per input: warm up until settled ({@link CpuWarmUp}), then the median of 15 rounds of
 * CPU-ns per operation. Run: java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.mask.MaskCpuRatios [input…]
 */
public final class MaskCpuRatios {
    private MaskCpuRatios() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        String[] inputs = args.length > 0 ? args : new String[] {"json-0pii", "json-10pii", "sse-10pii", "text-benign",
            "text-digits", "text-groups", "text-at", "text-brackets", "text-prefixes", "text-phones", "text-encoded", "text-keys"};
        Map<String, double[]> ns = new LinkedHashMap<>();
        for (String input : inputs) {
            MaskBenchmark b = new MaskBenchmark();
            b.input = input;
            b.setup();
            double scan = measure(mx, () -> b.byteScan(), 2000, 300_000_000L);
            double mask = measure(mx, () -> b.mask(), 2, 6_000_000_000L);
            ns.put(input, new double[] {scan, mask});
        }
        double benign = ns.containsKey("text-benign") ? ns.get("text-benign")[1] : Double.NaN;
        System.out.println("| input | byte scan (CPU µs/op) | mask (CPU µs/op) | mask/scan throughput | vs benign 1 MiB |");
        System.out.println("|---|---|---|---|---|");
        ns.forEach((k, v) -> System.out.printf("| %s | %.1f | %.1f | %.3f× | %s |%n", k, v[0] / 1e3, v[1] / 1e3, v[0] / v[1],
                k.startsWith("text-") ? String.format("%.2f×", v[1] / benign) : "—"));
    }

    /** Median CPU-ns per op over 15 rounds of at least {@code minOps} ops and 50 ms each, after a warm-up until settled. */
    private static double measure(ThreadMXBean mx, Runnable op, int minOps, long minWarmUpCpuNs) {
        CpuWarmUp.warm(mx, op, minOps, minWarmUpCpuNs);
        double[] rounds = new double[15];
        for (int r = 0; r < rounds.length; r++) {
            rounds[r] = CpuWarmUp.round(mx, op, minOps);
        }
        java.util.Arrays.sort(rounds);
        return rounds[rounds.length / 2];
    }
}
