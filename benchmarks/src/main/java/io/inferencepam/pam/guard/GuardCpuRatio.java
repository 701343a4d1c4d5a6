package io.inferencepam.pam.guard;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.Supplier;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link GuardDecisionBench} and {@link GuardParseBench} in thread CPU time, baseline and candidate
 * interleaved in rounds: on the shared build host (load average above 10 on 2 cores) JMH's wall-clock
 * averages swing by more than the effect measured; CPU time per operation does not.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.guard.GuardCpuRatio</pre>
 */
public final class GuardCpuRatio {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    private static final Blackhole BH = new Blackhole(
            "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");

    private GuardCpuRatio() {
    }

    public static void main(String[] args) throws Exception {
        for (String path : new String[] {"chat", "lora", "unknown"}) {
            GuardDecisionBench b = new GuardDecisionBench();
            b.path = path;
            b.setUp();
            double[] ns = measure(200_000, b::baselineExactLookup, b::decide, b::onRequest);
            System.out.printf("%-8s baseline HashSet lookup %6.0f ns | decide %6.0f ns (%.1f x) | onRequest %6.0f ns (%.1f x)%n",
                    path, ns[0], ns[1], ns[1] / ns[0], ns[2], ns[2] / ns[0]);
        }
        GuardParseBench p = new GuardParseBench();
        double[] ns = measure(5_000, () -> {
            try {
                return p.baselineJacksonStreaming();
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }, p::baselineJacksonTree, p::strictParse);
        System.out.printf("chat %d B  Jackson streaming %.1f us | Jackson tree %.1f us (%.2f x) | strict parse %.1f us (%.2f x)%n",
                GuardParseBench.CHAT_4K.length, ns[0] / 1e3, ns[1] / 1e3, ns[1] / ns[0], ns[2] / 1e3, ns[2] / ns[0]);
        System.exit(0);
    }

    /** CPU ns per call of each supplier: 12 interleaved rounds of {@code n} calls, the first 4 discarded. */
    @SafeVarargs
    static double[] measure(int n, Supplier<Object>... work) {
        long[] total = new long[work.length];
        for (int round = 0; round < 12; round++) {
            for (int w = 0; w < work.length; w++) {
                long t0 = MX.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    BH.consume(work[w].get());
                }
                long t1 = MX.getCurrentThreadCpuTime();
                if (round >= 4) {
                    total[w] += t1 - t0;
                }
            }
        }
        double[] out = new double[work.length];
        for (int w = 0; w < work.length; w++) {
            out[w] = total[w] / (8.0 * n);
        }
        return out;
    }
}
