package io.inferencepam.bench.mask;

import java.lang.management.ThreadMXBean;

/**
 * Warm-up until the JIT has settled, counted in thread CPU time. On an oversubscribed host the
 * compiler threads get a share of the CPUs like everyone else: a warm-up of fixed length (wall or
 * thread CPU) can end while the mask path still runs partly interpreted or in C1 code, and the
 * rounds measured after it then report the compiler's backlog instead of the code (on main at
 * load 15–20, json-10pii's cost kept falling for 4–5 s of the measuring thread's CPU, byte scans
 * in between included: the callers ask for at least 6 s). So: rounds of
 * {@link #ROUND_CPU_NS} until the best of the last third of the rounds (at least {@link #WINDOW})
 * no longer beats the best before them by {@link #SETTLED}, after at least {@code minCpuNs} and at
 * most {@link #MAX_CPU_NS}: the longer the warm-up has run, the longer a plateau must last (a
 * starved compiler queue can leave one for a while).
 */
public final class CpuWarmUp {
    static final long ROUND_CPU_NS = 50_000_000L;
    private static final int WINDOW = 8;
    private static final double SETTLED = 0.97;
    private static final long MAX_CPU_NS = 20_000_000_000L;

    private CpuWarmUp() {
    }

    /** Warms {@code op} up; returns the thread CPU it took, in ns. */
    public static long warm(ThreadMXBean mx, Runnable op, int minOps, long minCpuNs) {
        long cpu0 = mx.getCurrentThreadCpuTime();
        double[] rounds = new double[(int) (MAX_CPU_NS / ROUND_CPU_NS) + 1];
        int n = 0;
        while (n < rounds.length) {
            rounds[n++] = round(mx, op, minOps);
            long spent = mx.getCurrentThreadCpuTime() - cpu0;
            if (spent >= MAX_CPU_NS) {
                break;
            }
            int window = Math.max(WINDOW, n / 3);
            if (spent >= minCpuNs && n >= 2 * window && min(rounds, n - window, n) > SETTLED * min(rounds, 0, n - window)) {
                break;
            }
        }
        return mx.getCurrentThreadCpuTime() - cpu0;
    }

    /** CPU-ns per op over at least {@code minOps} ops and {@link #ROUND_CPU_NS}. */
    public static double round(ThreadMXBean mx, Runnable op, int minOps) {
        long cpu0 = mx.getCurrentThreadCpuTime();
        int ops = 0;
        while (ops < minOps || mx.getCurrentThreadCpuTime() - cpu0 < ROUND_CPU_NS) {
            op.run();
            ops++;
        }
        return (double) (mx.getCurrentThreadCpuTime() - cpu0) / ops;
    }

    private static double min(double[] v, int from, int to) {
        double m = Double.MAX_VALUE;
        for (int i = from; i < to; i++) {
            m = Math.min(m, v[i]);
        }
        return m;
    }
}
