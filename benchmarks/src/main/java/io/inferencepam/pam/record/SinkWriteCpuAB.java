package io.inferencepam.pam.record;

import io.inferencepam.bench.ProcStats;
import io.inferencepam.e2e.support.RedisServer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Before/after of the audit store thread's write path in <b>one process</b> against one real
 * redis-server: two builds' benchmarks jars, each in its own class loader, drive their own
 * {@code RedisStreamSink} (and its Jedis) in alternating blocks on one thread. Per stream entry:
 * the writing thread's CPU time (Jedis pipeline, argument encoding, socket I/O) and redis-server's
 * CPU time over the block. Entries are what a call writes: an admitted entry (~700 B) and a record
 * (~3.4 KB, two 1 KiB bodies), in batches of {@code batch} entries (5 ms of linger at 1,000
 * calls/s gathers about 10).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.record.SinkWriteCpuAB BEFORE.jar [AFTER.jar=this one] [seconds=40] [batch=10] [afterOutputBuffer]</pre>
 * {@code afterOutputBuffer} (bytes): the after side's Jedis output buffer ({@code jedis.bufferSize.output}, which
 * Jedis reads once per class loader, at its first connection); the before side keeps Jedis's default (8 KiB).
 * With both jars the same, an A/B of the buffer size alone in one run.
 */
public final class SinkWriteCpuAB {
    private static final int BLOCK = 2000; // entries per measured block

    private SinkWriteCpuAB() {
    }

    /** One build's sink, its entry constructor and its write method. */
    private record Side(String key, Object jedis, Object sink, Constructor<?> entry, Method write, Method del) {
        static Side load(Path jar, String redisUrl, String key) throws Exception {
            ClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> pooled = Class.forName("redis.clients.jedis.JedisPooled", true, cl);
            Class<?> unified = Class.forName("redis.clients.jedis.UnifiedJedis", true, cl);
            Object jedis = pooled.getConstructor(URI.class, int.class).newInstance(URI.create(redisUrl), 5000);
            Class<?> sinkClass = Class.forName("io.inferencepam.pam.record.sink.RedisStreamSink", true, cl);
            Object sink = sinkClass.getConstructor(unified, String.class, long.class, Duration.class, Clock.class)
                    .newInstance(jedis, key, 0L, Duration.ZERO, Clock.systemUTC());
            Class<?> entryClass = Class.forName("io.inferencepam.pam.record.sink.ChainedEntry", true, cl);
            return new Side(key, jedis, sink, entryClass.getConstructor(String.class, long.class, byte[].class),
                    sinkClass.getMethod("write", List.class), unified.getMethod("del", String.class));
        }

        List<List<Object>> batches(byte[][] payloads, int batch) throws Exception {
            List<List<Object>> out = new ArrayList<>();
            List<Object> b = new ArrayList<>();
            for (int i = 0; i < BLOCK; i++) {
                b.add(entry.newInstance("bench-instance-7f3a9c", (long) i + 1, payloads[i % 2]));
                if (b.size() == batch) {
                    out.add(b);
                    b = new ArrayList<>();
                }
            }
            if (!b.isEmpty()) {
                out.add(b);
            }
            return out;
        }

        /** {thread CPU, redis CPU} µs per entry over one block. */
        double[] block(List<List<Object>> batches, ThreadMXBean mx, long redisPid) throws Exception {
            long r0 = ProcStats.cpuNanos(redisPid);
            long t0 = mx.getCurrentThreadCpuTime();
            for (List<Object> b : batches) {
                write.invoke(sink, b);
            }
            long t1 = mx.getCurrentThreadCpuTime();
            long r1 = ProcStats.cpuNanos(redisPid);
            del.invoke(jedis, key); // outside the window: the stream stays small
            return new double[] {(t1 - t0) / 1e3 / BLOCK, (r1 - r0) / 1e3 / BLOCK};
        }
    }

    public static void main(String[] args) throws Exception {
        Path beforeJar = Path.of(args[0]);
        Path afterJar = args.length > 1 ? Path.of(args[1])
                : Path.of(SinkWriteCpuAB.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        byte[][] payloads = {payload(700), payload(3400)};
        try (RedisServer redis = RedisServer.start()) {
            long redisPid;
            try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
                redisPid = Long.parseLong(j.info("server").lines().filter(l -> l.startsWith("process_id:"))
                        .findFirst().orElseThrow().substring("process_id:".length()).trim());
            }
            Side before = Side.load(beforeJar, redis.url(), "pam:{audit}:ab-before");
            Side after = Side.load(afterJar, redis.url(), "pam:{audit}:ab-after");
            List<List<Object>> bb = before.batches(payloads, batch);
            List<List<Object>> ab = after.batches(payloads, batch);
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            before.block(bb, mx, redisPid); // before's first connection: Jedis's default output buffer
            if (args.length > 4) {
                System.setProperty("jedis.bufferSize.output", args[4]);
            }
            after.block(ab, mx, redisPid); // after's first connection reads the property
            System.clearProperty("jedis.bufferSize.output");
            for (int i = 0; i < 10; i++) { // JIT warm-up of both builds
                before.block(bb, mx, redisPid);
                after.block(ab, mx, redisPid);
            }
            int n = 0;
            double[][] r = new double[4][10_000];
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < end && n < r[0].length) {
                boolean flip = n % 2 == 1; // A B / B A
                for (Side s : flip ? new Side[] {after, before} : new Side[] {before, after}) {
                    double[] v = s.block(s == before ? bb : ab, mx, redisPid);
                    int k = s == before ? 0 : 2;
                    r[k][n] = v[0];
                    r[k + 1][n] = v[1];
                }
                n++;
            }
            double[] ratio = new double[n];
            for (int i = 0; i < n; i++) {
                ratio[i] = r[2][i] / r[0][i];
            }
            System.out.printf(Locale.ROOT, "%d rounds of %d entries per side, batches of %d; CPU µs per entry, median (p10–p90):%n"
                            + "  store thread (sink write):  before %s, after %s; paired ratio after/before %s%n"
                            + "  redis-server:               before %s, after %s%n"
                            + "load average %s%n",
                    n, BLOCK, batch, stats(r[0], n), stats(r[2], n), stats(ratio, n), stats(r[1], n), stats(r[3], n),
                    ProcStats.loadAverage());
        }
    }

    private static byte[] payload(int size) {
        StringBuilder sb = new StringBuilder("{\"body\":\"");
        while (sb.length() < size - 2) {
            sb.append("All work and no play. ");
        }
        sb.setLength(size - 2);
        return sb.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String stats(double[] v, int n) {
        double[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", s[n / 2], s[n / 10], s[Math.min(n - 1, n * 9 / 10)]);
    }
}
