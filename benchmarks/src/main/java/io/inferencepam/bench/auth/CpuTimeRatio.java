package io.inferencepam.bench.auth;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The G6 ratios measured in thread CPU time instead of wall time, interleaving baseline and
 * candidate in rounds: on a shared, overloaded build host JMH's wall-clock throughput swings by
 * more than the effect being measured, CPU time per operation does not. Uses the same state as
 * {@link TokenVerifyBench}.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.auth.CpuTimeRatio</pre>
 */
public final class CpuTimeRatio {
    private CpuTimeRatio() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        for (String alg : new String[] {"RS256", "ES256"}) {
            TokenVerifyBench b = new TokenVerifyBench();
            b.alg = alg;
            b.setUp();
            int n = "RS256".equals(alg) ? 2000 : 300;
            long raw = 0;
            long miss = 0;
            long hit = 0;
            int hitN = 200_000;
            for (int round = 0; round < 12; round++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    bh.consume(b.rawJdkVerify());
                }
                long t1 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    bh.consume(b.missVerify());
                }
                long t2 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < hitN; i++) {
                    b.hitVerifyAndPolicy(bh);
                }
                long t3 = mx.getCurrentThreadCpuTime();
                if (round >= 4) { // the first rounds are warm-up
                    raw += t1 - t0;
                    miss += t2 - t1;
                    hit += t3 - t2;
                }
            }
            int rounds = 8;
            double rawUs = raw / 1e3 / (rounds * (double) n);
            double missUs = miss / 1e3 / (rounds * (double) n);
            double hitUs = hit / 1e3 / (rounds * (double) hitN);
            System.out.printf("%s  raw JDK verify %.1f us/op  |  pam-auth miss %.1f us/op  |  miss throughput = %.2f x raw  |  hit %.2f us/op (%.0f x miss rate)%n",
                    alg, rawUs, missUs, rawUs / missUs, hitUs, missUs / hitUs);
            b.tearDown();
        }
        System.exit(0);
    }
}
