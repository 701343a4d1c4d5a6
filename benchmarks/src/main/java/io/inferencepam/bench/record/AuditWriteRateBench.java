package io.inferencepam.bench.record;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.bench.ProcStats;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import io.inferencepam.pam.record.spool.AuditWriter;
import io.inferencepam.pam.record.spool.Spool;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import redis.clients.jedis.JedisPooled;

/**
 * Sustained audit write rate (the whole path: queue, hash chain over canonical JSON, pipelined
 * XADD with MAXLEN ~) against {@code redis-benchmark} running XADD with the same stream, the same
 * fields, the same entry size and the same pipeline depth on one connection — same redis-server,
 * same run. Prints both rates and their ratio (goal G11: ≥ 0.5).
 *
 * <p>Like for like: field {@code r} of redis-benchmark's XADD has exactly the byte length of the
 * writer's linked canonical entry (chain fields included), {@code i} and {@code s} have the
 * writer's lengths, both use {@code MAXLEN ~ 1000000} on the same key, one connection, and the
 * same depth ({@code -P depth}: redis-benchmark sends depth commands and waits for their replies,
 * as the writer's store thread sends one pipelined batch of depth XADDs and syncs). The writer is
 * measured from the first submit until the last entry is acknowledged by Redis. Each depth runs
 * a warm-up round and then {@code rounds} rounds in A B C / C B A order; medians and min–max of
 * the per-round ratios are printed, with the load average.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.record.AuditWriteRateBench [records] [entryBytes] [rounds]</pre>
 */
public final class AuditWriteRateBench {
    private static final String KEY = "pam:{audit}:bench";

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int payload = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        String filler = fillerFor(payload);
        int entry = entryBytes(filler);
        try (RedisServer redis = RedisServer.start(); JedisPooled jedis = new JedisPooled(URI.create(redis.url()), 5000)) {
            System.out.printf("records=%d, field r = %d bytes (the linked canonical entry; redis-benchmark sends r of the same size), "
                    + "fields i, s, r, XADD MAXLEN ~ 1000000, one connection; redis-server on %s; load average %s%n",
                    n, entry, redis.url(), ProcStats.loadAverage());
            long serverPid;
            try (redis.clients.jedis.Jedis one = new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
                serverPid = Long.parseLong(one.info("server").lines().filter(l -> l.startsWith("process_id:"))
                        .findFirst().orElseThrow().substring("process_id:".length()).trim());
            }
            for (int depth : new int[] {16, 256}) {
                List<Result[]> runs = new ArrayList<>();
                for (int round = 0; round <= reps; round++) { // round 0 warms up the JIT and redis, not reported
                    // A B C, then C B A: drift on a noisy machine hits all three alike
                    Result[] r = new Result[3];
                    int[] order = round % 2 == 0 ? new int[] {0, 1, 2} : new int[] {2, 1, 0};
                    for (int which : order) {
                        jedis.del(KEY);
                        r[which] = which == 0 ? redisBenchmark(redis.port(), serverPid, n, entry, depth)
                                : ours(jedis, serverPid, n, filler, entry, depth, which == 2);
                    }
                    if (round > 0) {
                        runs.add(r);
                        System.out.printf("  pipeline %3d round %d: redis-benchmark %,.0f/s, writer %,.0f/s (%.2f), signed %,.0f/s (%.2f)%n",
                                depth, round, r[0].perSec(), r[1].perSec(), r[1].perSec() / r[0].perSec(),
                                r[2].perSec(), r[2].perSec() / r[0].perSec());
                    }
                }
                System.out.printf("pipeline %3d: redis-benchmark XADD %s/s | pam-record writer %s/s, ratio %s"
                                + " | with Ed25519 checkpoint every 1000 %s/s, ratio %s  (median (min–max) of %d rounds)%n",
                        depth, stat(runs, r -> r[0].perSec(), "%,.0f"), stat(runs, r -> r[1].perSec(), "%,.0f"),
                        stat(runs, r -> r[1].perSec() / r[0].perSec(), "%.2f"),
                        stat(runs, r -> r[2].perSec(), "%,.0f"), stat(runs, r -> r[2].perSec() / r[0].perSec(), "%.2f"), runs.size());
                System.out.printf("              CPU µs per entry, client side: redis-benchmark %s, writer threads %s, signed %s;"
                                + " redis-server: %s / %s / %s%n",
                        stat(runs, r -> r[0].clientCpuUs(), "%.1f"), stat(runs, r -> r[1].clientCpuUs(), "%.1f"),
                        stat(runs, r -> r[2].clientCpuUs(), "%.1f"), stat(runs, r -> r[0].serverCpuUs(), "%.1f"),
                        stat(runs, r -> r[1].serverCpuUs(), "%.1f"), stat(runs, r -> r[2].serverCpuUs(), "%.1f"));
            }
            System.out.printf("load average at the end %s%n", ProcStats.loadAverage());
        }
    }

    private static String stat(List<Result[]> runs, java.util.function.ToDoubleFunction<Result[]> f, String fmt) {
        double[] v = runs.stream().mapToDouble(f).sorted().toArray();
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return String.format(fmt, median) + " (" + String.format(fmt, v[0]) + "–" + String.format(fmt, v[v.length - 1]) + ")";
    }

    /** A filler that makes the linked entry (chain fields included, seq of 6 digits) {@code payload} bytes long. */
    static String fillerFor(int payload) {
        int base = entryBytes("");
        return "x".repeat(Math.max(0, payload - base));
    }

    /** The size of field r as the writer stores it, for a record with this filler and a 6-digit seq. */
    static int entryBytes(String filler) {
        HashChain c = new HashChain("bench");
        byte[] last = null;
        for (int i = 0; i < 100_000; i++) {
            last = c.linkAndEncode(record(i, filler));
        }
        return last.length;
    }

    static ObjectNode record(int i, String filler) {
        ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
        r.put("kind", "call");
        r.put("id", String.format("%032x", i));
        r.put("route_id", "bench");
        r.putObject("request").put("method", "POST").put("path", "/v1/chat/completions").put("body", filler);
        r.putObject("response").put("status", 200).put("body", "ok");
        return r;
    }

    /** Records per second through AuditWriter → RedisStreamSink, until the last one is stored. */
    /** A rate, and CPU per entry on the client side (the writer's two threads, or redis-benchmark) and in redis-server. */
    record Result(double perSec, double clientCpuUs, double serverCpuUs) {
    }

    /** Entries per second through AuditWriter → RedisStreamSink, from the first submit until the last one is stored. */
    static Result ours(JedisPooled jedis, long serverPid, int n, String filler, int entry, int depth, boolean signed) throws Exception {
        Path spool = Files.createTempDirectory("bench-spool");
        // The queue holds the whole backlog: the writer always finds a full batch, as redis-benchmark
        // always has its next depth commands ready, and the overload path (overflow file) never runs.
        AuditWriter w = new AuditWriter(new RedisStreamSink(jedis, KEY, 1_000_000, Duration.ZERO, Clock.systemUTC()),
                new Spool(spool, 1L << 30, 0), new Spool(spool.resolve("overflow"), 1L << 30, 0), new HashChain("bench"),
                signed ? Optional.of(CheckpointSigner.fromPkcs8Base64(CheckpointSigner.generate()[0])) : Optional.empty(),
                new AuditWriter.Settings(n + depth, depth, 1000, Duration.ofHours(1),
                        Duration.ofSeconds(1), Duration.ZERO), Clock.systemUTC()).start();
        List<ObjectNode> records = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            records.add(record(i, filler));
        }
        long[] writerThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("pam-audit-")).mapToLong(Thread::getId).toArray();
        long cpu0 = threadsCpu(writerThreads);
        long srv0 = ProcStats.cpuNanos(serverPid);
        long t0 = System.nanoTime();
        for (ObjectNode r : records) {
            if (!w.submit(r) || w.stats().overflowed.get() > 0) {
                throw new IllegalStateException("the queue overflowed: not the path measured here");
            }
        }
        long written;
        while ((written = w.stats().written.get() + w.stats().drained.get()) < n + w.stats().checkpoints.get()) {
            Thread.sleep(1);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long cpu1 = threadsCpu(writerThreads);
        long srv1 = ProcStats.cpuNanos(serverPid);
        if (w.stats().spooled.get() > 0) {
            System.out.printf("  (note: %d spooled: the store refused writes)%n", w.stats().spooled.get());
        }
        w.close();
        for (var e : jedis.xrevrange(KEY, "+", "-", 3)) { // the last call entry (a checkpoint may follow it)
            String r = e.getFields().get("r");
            if (r.contains("\"kind\":\"call\"")) {
                if (Math.abs(r.length() - entry) > 8) {
                    throw new IllegalStateException("stored entry is " + r.length() + " bytes, redis-benchmark sends " + entry);
                }
                break;
            }
        }
        return new Result(n / secs, (cpu1 - cpu0) / 1e3 / written, (srv1 - srv0) / 1e3 / written);
    }

    private static long threadsCpu(long[] ids) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long id : ids) {
            sum += Math.max(0, mx.getThreadCpuTime(id));
        }
        return sum;
    }

    /** redis-benchmark: one connection, same key, same fields, same entry size, same pipeline depth. */
    static Result redisBenchmark(int port, long serverPid, int n, int entry, int depth) throws Exception {
        String cmd = String.join(" ", "redis-benchmark", "-p", Integer.toString(port), "-c", "1", "-n", Integer.toString(n),
                "-P", Integer.toString(depth), "-q", "XADD", "'" + KEY + "'", "MAXLEN", "'~'", "1000000", "'*'", "i", "bench",
                "s", "123456", "r", "y".repeat(entry));
        // bash's `times` prints the children's user and system CPU: the client side's cost
        Process p = new ProcessBuilder("bash", "-c", cmd + "; times").redirectErrorStream(true).start();
        long srv0 = ProcStats.cpuNanos(serverPid);
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
            }
        }
        p.waitFor();
        long srv1 = ProcStats.cpuNanos(serverPid);
        Matcher m = Pattern.compile("([0-9.]+) requests per second").matcher(out);
        double last = -1;
        while (m.find()) {
            last = Double.parseDouble(m.group(1));
        }
        Matcher t = Pattern.compile("(\\d+)m([0-9.]+)s (\\d+)m([0-9.]+)s\\s*$").matcher(out.toString().trim());
        if (last < 0 || !t.find()) {
            throw new IllegalStateException("redis-benchmark output not understood:\n" + out);
        }
        double clientSecs = Integer.parseInt(t.group(1)) * 60 + Double.parseDouble(t.group(2))
                + Integer.parseInt(t.group(3)) * 60 + Double.parseDouble(t.group(4));
        return new Result(last, clientSecs * 1e6 / n, (srv1 - srv0) / 1e3 / n);
    }
}
