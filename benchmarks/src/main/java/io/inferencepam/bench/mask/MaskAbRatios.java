package io.inferencepam.bench.mask;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Two builds of pam-mask measured interleaved in one JVM, next to the plain byte scan: each build's
 * {@link MaskBenchmark} (with all of its plugin classes) is loaded from its own benchmarks jar in
 * its own class loader, so "before" and "after" share the host's load, the JIT and the run. Per
 * input, each round measures the byte scan, then build A, then build B, in thread CPU time; the
 * medians of 15 rounds are reported. Each build is warmed up until its cost has settled
 * ({@link CpuWarmUp}): on an oversubscribed host a warm-up of fixed length ends before the JIT has
 * compiled the mask path.
 * <p>Run: java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.mask.MaskAbRatios before.jar after.jar [input…]
 */
public final class MaskAbRatios {
    private static final long WARM_UP_CPU_NS = 6_000_000_000L;
    private static final long SCAN_WARM_UP_CPU_NS = 300_000_000L;
    private static final int ROUNDS = 15;

    private MaskAbRatios() {
    }

    /** One build's benchmark state for one input. */
    private record Build(Object bench, Method maskMethod, Method scanMethod) {
        static Build load(ClassLoader loader, String input) throws Exception {
            Class<?> c = loader.loadClass(MaskBenchmark.class.getName());
            Object b = c.getConstructor().newInstance();
            c.getField("input").set(b, input);
            c.getMethod("setup").invoke(b);
            return new Build(b, c.getMethod("mask"), c.getMethod("byteScan"));
        }

        void mask() {
            call(maskMethod);
        }

        void byteScan() {
            call(scanMethod);
        }

        private void call(Method m) {
            try {
                m.invoke(bench);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        ClassLoader a = loader(args[0]);
        ClassLoader b = loader(args[1]);
        String[] inputs = args.length > 2 ? Arrays.copyOfRange(args, 2, args.length) : new String[] {"json-0pii", "json-10pii", "sse-10pii",
            "text-benign", "text-digits", "text-groups", "text-at", "text-brackets", "text-prefixes", "text-phones", "text-encoded", "text-keys"};
        Map<String, double[]> ns = new LinkedHashMap<>();
        for (String input : inputs) {
            Build ba = Build.load(a, input);
            Build bb = Build.load(b, input);
            CpuWarmUp.warm(mx, ba::byteScan, 2000, SCAN_WARM_UP_CPU_NS);
            long warmA = CpuWarmUp.warm(mx, ba::mask, 2, WARM_UP_CPU_NS);
            long warmB = CpuWarmUp.warm(mx, bb::mask, 2, WARM_UP_CPU_NS);
            double[][] rounds = new double[3][ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                rounds[0][r] = CpuWarmUp.round(mx, ba::byteScan, 2000);
                rounds[1][r] = CpuWarmUp.round(mx, ba::mask, 2);
                rounds[2][r] = CpuWarmUp.round(mx, bb::mask, 2);
            }
            ns.put(input, new double[] {median(rounds[0]), median(rounds[1]), median(rounds[2])});
            System.err.printf("%s done (warm-up until settled: A %.1f s, B %.1f s thread CPU)%n", input, warmA / 1e9, warmB / 1e9);
        }
        double benignA = ns.containsKey("text-benign") ? ns.get("text-benign")[1] : Double.NaN;
        double benignB = ns.containsKey("text-benign") ? ns.get("text-benign")[2] : Double.NaN;
        System.out.println("| input | byte scan (CPU µs/op) | A: mask (CPU µs/op) | A: mask/scan | A: vs benign | B: mask (CPU µs/op) | B: mask/scan | B: vs benign |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        ns.forEach((k, v) -> System.out.printf("| %s | %.1f | %.1f | %.3f× | %s | %.1f | %.3f× | %s |%n", k, v[0] / 1e3, v[1] / 1e3, v[0] / v[1],
                vsBenign(k, v[1], benignA), v[2] / 1e3, v[0] / v[2], vsBenign(k, v[2], benignB)));
    }

    private static String vsBenign(String input, double ns, double benign) {
        return input.startsWith("text-") ? String.format("%.2f×", ns / benign) : "—";
    }

    private static ClassLoader loader(String jar) throws Exception {
        return new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
