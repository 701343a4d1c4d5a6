package io.inferencepam.pam.record;

import io.inferencepam.bench.ProcStats;
import io.inferencepam.e2e.support.RedisServer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Before/after of the audit write path at a <b>moderate, paced rate</b> in one process against one
 * real redis-server: two builds' benchmarks jars, each in its own class loader, run their own
 * {@code AuditWriter} (chain stage and store stage threads, {@code RedisStreamSink}, the default
 * 5 ms linger and batch of 256) in alternating blocks. A block submits {@code rate} entries a
 * second, paced by a driver thread (an admitted entry of ~0.7 KB and a record of ~3.4 KB, i.e.
 * calls at half that rate), then waits until the writer is idle. Per entry: the CPU time of the
 * two audit threads ({@code pam-audit-writer}, {@code pam-audit-store}) over the block, and
 * redis-server's. What differs between builds is only how the writer and the store thread share
 * a batch (the wake-ups per write), not what is written.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.record.WritePathCpuAB BEFORE.jar [AFTER.jar=this one] [seconds=60] [rate=2000] [blockMillis=2000]</pre>
 */
public final class WritePathCpuAB {
    private WritePathCpuAB() {
    }

    /** One build's writer, its two threads and the records it is fed. */
    private record Side(Object writer, Method submit, Method awaitIdle, Thread chainThread, Thread storeThread, Object[] records) {
        static Side load(Path jar, String redisUrl, String key, Path spoolDir) throws Exception {
            ClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
            Class<?> pooled = Class.forName("redis.clients.jedis.JedisPooled", true, cl);
            Class<?> unified = Class.forName("redis.clients.jedis.UnifiedJedis", true, cl);
            Object jedis = pooled.getConstructor(URI.class, int.class).newInstance(URI.create(redisUrl), 5000);
            Class<?> sinkClass = Class.forName("io.inferencepam.pam.record.sink.RedisStreamSink", true, cl);
            Object sink = sinkClass.getConstructor(unified, String.class, long.class, Duration.class, Clock.class)
                    .newInstance(jedis, key, 0L, Duration.ZERO, Clock.systemUTC());
            Class<?> spool = Class.forName("io.inferencepam.pam.record.spool.Spool", true, cl);
            Object live = spool.getConstructor(Path.class, long.class, long.class).newInstance(spoolDir, 1L << 30, 0L);
            Object overflow = spool.getConstructor(Path.class, long.class, long.class).newInstance(spoolDir.resolve("overflow"), 1L << 30, 0L);
            Class<?> chain = Class.forName("io.inferencepam.pam.record.chain.HashChain", true, cl);
            Class<?> settings = Class.forName("io.inferencepam.pam.record.spool.AuditWriter$Settings", true, cl);
            Object s = settings.getConstructor(int.class, int.class, long.class, Duration.class, Duration.class, Duration.class)
                    .newInstance(10_000, 256, 1000L, Duration.ofSeconds(60), Duration.ofSeconds(2), Duration.ofMillis(5));
            Class<?> sinkIface = Class.forName("io.inferencepam.pam.record.sink.AuditSink", true, cl);
            Class<?> writerClass = Class.forName("io.inferencepam.pam.record.spool.AuditWriter", true, cl);
            Object writer = writerClass.getConstructor(sinkIface, spool, spool, chain,
                            Optional.class, settings, Clock.class)
                    .newInstance(sink, live, overflow, chain.getConstructor(String.class).newInstance("ab-" + key),
                            Optional.empty(), s, Clock.systemUTC());
            writerClass.getMethod("start").invoke(writer);
            Class<?> canonical = Class.forName("io.inferencepam.pam.record.chain.CanonicalJson", true, cl);
            Method parse = canonical.getMethod("parse", String.class);
            Object[] records = {parse.invoke(null, record(700)), parse.invoke(null, record(3400))};
            Class<?> objectNode = Class.forName("com.fasterxml.jackson.databind.node.ObjectNode", true, cl);
            return new Side(writer, writerClass.getMethod("submit", objectNode), writerClass.getMethod("awaitIdle", Duration.class),
                    thread(writerClass, writer, "serializer"), thread(writerClass, writer, "storeThread"), records);
        }

        private static Thread thread(Class<?> c, Object o, String name) throws Exception {
            Field f = c.getDeclaredField(name);
            f.setAccessible(true);
            return (Thread) f.get(o);
        }

        /** {audit threads' CPU, redis CPU} µs per entry over one paced block. */
        double[] block(int entries, long intervalNanos, ThreadMXBean mx, long redisPid) throws Exception {
            if (!(boolean) awaitIdle.invoke(writer, Duration.ofSeconds(30))) {
                throw new IllegalStateException("writer not idle before the block");
            }
            long r0 = ProcStats.cpuNanos(redisPid);
            long c0 = mx.getThreadCpuTime(chainThread.getId()) + mx.getThreadCpuTime(storeThread.getId());
            long next = System.nanoTime();
            for (int i = 0; i < entries; i++) {
                submit.invoke(writer, records[i % 2]);
                next += intervalNanos;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            if (!(boolean) awaitIdle.invoke(writer, Duration.ofSeconds(30))) {
                throw new IllegalStateException("writer not idle after the block");
            }
            long c1 = mx.getThreadCpuTime(chainThread.getId()) + mx.getThreadCpuTime(storeThread.getId());
            long r1 = ProcStats.cpuNanos(redisPid);
            return new double[] {(c1 - c0) / 1e3 / entries, (r1 - r0) / 1e3 / entries};
        }
    }

    public static void main(String[] args) throws Exception {
        Path beforeJar = Path.of(args[0]);
        Path afterJar = args.length > 1 ? Path.of(args[1])
                : Path.of(WritePathCpuAB.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        int rate = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        int blockMillis = args.length > 4 ? Integer.parseInt(args[4]) : 2000;
        int entries = (int) ((long) rate * blockMillis / 1000);
        long interval = TimeUnit.SECONDS.toNanos(1) / rate;
        Path dir = Files.createTempDirectory("write-path-ab");
        try (RedisServer redis = RedisServer.start()) {
            long redisPid;
            try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
                redisPid = Long.parseLong(j.info("server").lines().filter(l -> l.startsWith("process_id:"))
                        .findFirst().orElseThrow().substring("process_id:".length()).trim());
            }
            Side before = Side.load(beforeJar, redis.url(), "pam:{audit}:ab-before", dir.resolve("before"));
            Side after = Side.load(afterJar, redis.url(), "pam:{audit}:ab-after", dir.resolve("after"));
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            for (int i = 0; i < 4; i++) { // JIT warm-up of both builds
                before.block(entries, interval, mx, redisPid);
                after.block(entries, interval, mx, redisPid);
            }
            int n = 0;
            double[][] r = new double[4][10_000];
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < end && n < r[0].length) {
                boolean flip = n % 2 == 1; // A B / B A
                for (Side s : flip ? new Side[] {after, before} : new Side[] {before, after}) {
                    double[] v = s.block(entries, interval, mx, redisPid);
                    int k = s == before ? 0 : 2;
                    r[k][n] = v[0];
                    r[k + 1][n] = v[1];
                }
                n++;
            }
            double[] ratio = new double[n];
            double[] redisRatio = new double[n];
            for (int i = 0; i < n; i++) {
                ratio[i] = r[2][i] / r[0][i];
                redisRatio[i] = r[3][i] / Math.max(1e-9, r[1][i]);
            }
            System.out.printf(Locale.ROOT, "%d rounds of %d entries per side at %d entries/s (%d calls/s); CPU µs per entry, median (p10–p90):%n"
                            + "  audit threads (writer + store): before %s, after %s; paired ratio after/before %s%n"
                            + "  redis-server:                   before %s, after %s; paired ratio %s%n"
                            + "load average %s%n",
                    n, entries, rate, rate / 2, stats(r[0], n), stats(r[2], n), stats(ratio, n), stats(r[1], n), stats(r[3], n),
                    stats(redisRatio, n), ProcStats.loadAverage());
        }
        System.exit(0); // the redis-server is stopped (above); the writers' and pools' threads end with the process
    }

    private static String record(int size) {
        StringBuilder sb = new StringBuilder("{\"kind\":\"call\",\"body\":\"");
        while (sb.length() < size - 2) {
            sb.append("All work and no play. ");
        }
        sb.setLength(size - 2);
        return sb.append("\"}").toString();
    }

    private static String stats(double[] v, int n) {
        double[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", s[n / 2], s[n / 10], s[Math.min(n - 1, n * 9 / 10)]);
    }
}
