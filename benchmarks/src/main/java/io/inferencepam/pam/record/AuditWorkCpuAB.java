package io.inferencepam.pam.record;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Before/after of pam-record's per-call audit work in <b>one process</b>: two builds' benchmarks
 * jars, each in its own class loader, drive their own {@link RecordBuildBenchmark} (the call
 * {@code AuditLatencyBench} sends: 1 KiB chat request and completion, a bearer token, a principal,
 * two decisions) in alternating blocks on one thread, timed in <b>thread CPU time</b>, so a loaded
 * host distorts neither side more than the other. Per call: {@code endAdmitted} (the plugin-thread
 * part) and {@code buildAndLinkAdmitted} (that plus building and linking both entries, the writer's
 * part without the store).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.record.AuditWorkCpuAB BEFORE.jar [AFTER.jar=this one] [seconds=60] [block=2000]</pre>
 */
public final class AuditWorkCpuAB {
    private AuditWorkCpuAB() {
    }

    /** One build's benchmark state and its two measured methods. */
    private record Side(Object bench, Method end, Method all) {
        static Side load(Path jar) throws Exception {
            ClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> c = Class.forName(RecordBuildBenchmark.class.getName(), true, cl);
            Object b = c.getConstructor().newInstance();
            c.getField("body").setInt(b, 1024);
            c.getMethod("setUp").invoke(b);
            return new Side(b, c.getMethod("endAdmitted"), c.getMethod("buildAndLinkAdmitted"));
        }

        double cpuPerCall(Method m, int calls, ThreadMXBean mx) throws Exception {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < calls; i++) {
                m.invoke(bench);
            }
            return (mx.getCurrentThreadCpuTime() - t0) / 1e3 / calls;
        }
    }

    public static void main(String[] args) throws Exception {
        Path beforeJar = Path.of(args[0]);
        Path afterJar = args.length > 1 ? Path.of(args[1])
                : Path.of(AuditWorkCpuAB.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        int block = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        Side before = Side.load(beforeJar);
        Side after = Side.load(afterJar);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 4; i++) { // JIT warm-up of both builds
            before.cpuPerCall(before.all(), 5000, mx);
            after.cpuPerCall(after.all(), 5000, mx);
        }
        System.err.println("warmed up");
        int n = 0;
        double[][] r = new double[4][10_000];
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end && n < r[0].length) {
            boolean flip = n % 2 == 1; // A B / B A
            for (Side s : flip ? new Side[] {after, before} : new Side[] {before, after}) {
                int k = s == before ? 0 : 2;
                r[k][n] = s.cpuPerCall(s.end(), block, mx);
                r[k + 1][n] = s.cpuPerCall(s.all(), block, mx);
            }
            n++;
        }
        double[] ratio = new double[n];
        for (int i = 0; i < n; i++) {
            ratio[i] = r[3][i] / r[1][i];
        }
        System.out.printf(Locale.ROOT, "%d rounds of %d calls per side; CPU µs per call, median (p10–p90):%n"
                        + "  plugin-thread part (endAdmitted):          before %s, after %s%n"
                        + "  + build and link both entries (per call):  before %s, after %s%n"
                        + "  writer part alone (difference of medians): before %.2f, after %.2f%n"
                        + "  ratio after ÷ before of the whole, paired rounds: %s%n",
                n, block, fmt(r[0], n), fmt(r[2], n), fmt(r[1], n), fmt(r[3], n),
                pct(r[1], n, 50) - pct(r[0], n, 50), pct(r[3], n, 50) - pct(r[2], n, 50), fmt(ratio, n));
    }

    private static String fmt(double[] v, int n) {
        return String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", pct(v, n, 50), pct(v, n, 10), pct(v, n, 90));
    }

    private static double pct(double[] v, int n, int p) {
        double[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return s[Math.min(n - 1, (int) Math.floor(p / 100.0 * (n - 1) + 0.5))];
    }
}
