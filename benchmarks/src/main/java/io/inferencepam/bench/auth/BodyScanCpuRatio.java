package io.inferencepam.bench.auth;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link BodyScanBench} in thread CPU time, the old scan and the new one interleaved in rounds (the
 * shared build host's wall clock swings by more than the effect; CPU time per operation does not).
 *
 * <pre>java -Xms1g -Xmx1g -XX:+UseSerialGC -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.auth.BodyScanCpuRatio [bodies...]</pre>
 */
public final class BodyScanCpuRatio {
    private BodyScanCpuRatio() {
    }

    public static void main(String[] args) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        List<String> bodies = args.length > 0 ? List.of(args) : List.of("keys16m", "keys8m", "vision4m", "chat1m", "chat2k");
        System.out.println("| body | bytes | old scan (CPU ms/op) | new scan, limit lifted | new / old | default limit (8 MiB) |");
        System.out.println("|---|---|---|---|---|---|");
        for (String body : bodies) {
            BodyScanBench b = new BodyScanBench();
            b.body = body;
            b.setUp();
            int bytes = ScanBodies.named(body).length;
            int n = Math.max(1, (1 << 21) / bytes);
            int rounds = 8;
            int warm = 3;
            long[] sum = new long[3];
            for (int round = 0; round < rounds; round++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    bh.consume(b.legacy());
                }
                long t1 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    bh.consume(b.current());
                }
                long t2 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    bh.consume(b.currentDefaultLimit());
                }
                long t3 = mx.getCurrentThreadCpuTime();
                if (round >= warm) {
                    sum[0] += t1 - t0;
                    sum[1] += t2 - t1;
                    sum[2] += t3 - t2;
                }
            }
            double ops = (double) n * (rounds - warm);
            double old = sum[0] / 1e6 / ops;
            double cur = sum[1] / 1e6 / ops;
            double def = sum[2] / 1e6 / ops;
            System.out.printf(Locale.ROOT, "| %s | %d | %.3f | %.3f | %.2f | %.3f |%n", body, bytes, old, cur, cur / old, def);
        }
        System.exit(0);
    }
}
