package io.inferencepam.bench.record;

import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.record.AuditWriteRateBench [records] [payloadBytes]</pre>
 */
public final class AuditWriteRateBench {
    private static final String KEY = "pam:{audit}:bench";

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int payload = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        try (RedisServer redis = RedisServer.start(); JedisPooled jedis = new JedisPooled(URI.create(redis.url()), 5000)) {
            System.out.printf("records=%d entry~%d bytes, redis-server on %s%n", n, payload, redis.url());
            for (int depth : new int[] {16, 256}) {
                for (int round = 0; round < 2; round++) { // round 0 warms up the JIT and redis
                    jedis.del(KEY);
                    double ours = ours(jedis, n, payload, depth, false);
                    jedis.del(KEY);
                    double signed = ours(jedis, n, payload, depth, true);
                    jedis.del(KEY);
                    double baseline = redisBenchmark(redis.port(), n, payload, depth);
                    if (round == 1) {
                        System.out.printf("pipeline %3d: redis-benchmark XADD %,.0f/s | pam-record writer %,.0f/s (ratio %.2f)"
                                        + " | with Ed25519 checkpoint every 1000 %,.0f/s (ratio %.2f)%n",
                                depth, baseline, ours, ours / baseline, signed, signed / baseline);
                    }
                }
            }
        }
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
    static double ours(JedisPooled jedis, int n, int payload, int depth, boolean signed) throws Exception {
        Path spool = Files.createTempDirectory("bench-spool");
        String filler = "x".repeat(Math.max(0, payload - 560)); // chain fields and envelope make up the rest
        AuditWriter w = new AuditWriter(new RedisStreamSink(jedis, KEY, 1_000_000, Duration.ZERO, Clock.systemUTC()),
                new Spool(spool, 1L << 30, 0), new Spool(spool.resolve("overflow"), 1L << 30, 0), new HashChain("bench"),
                signed ? Optional.of(CheckpointSigner.fromPkcs8Base64(CheckpointSigner.generate()[0])) : Optional.empty(),
                new AuditWriter.Settings(Math.max(depth * 64, 16_384), depth, Duration.ofMillis(1), 1000, Duration.ofHours(1),
                        Duration.ofSeconds(1)), Clock.systemUTC()).start();
        List<ObjectNode> records = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            records.add(record(i, filler));
        }
        int capacity = Math.max(depth * 64, 16_384);
        long t0 = System.nanoTime();
        for (ObjectNode r : records) {
            // sustained load: a producer faster than the writer, but never so far ahead that the
            // overload path (fsynced overflow file) runs — that is measured separately, not here
            while (w.queueDepth() > capacity - depth) {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000); // do not contend for the queue lock
            }
            w.submit(r);
        }
        while (w.stats().written.get() + w.stats().drained.get() < n + w.stats().checkpoints.get()) {
            Thread.sleep(1);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (w.stats().spooled.get() > 0 || w.stats().overflowed.get() > 0) {
            System.out.printf("  (note: %d spooled, %d overflowed: the queue was full, the fsynced overflow path ran)%n",
                    w.stats().spooled.get(), w.stats().overflowed.get());
        }
        w.close();
        String sample = jedis.xrevrange(KEY, "+", "-", 1).get(0).getFields().get("r");
        if (Math.abs(sample.length() - payload) > payload / 10 + 64) {
            System.out.printf("  (entry is %d bytes, wanted ~%d)%n", sample.length(), payload);
        }
        return n / secs;
    }

    /** redis-benchmark: one connection, same key, same fields, same entry size, same pipeline depth. */
    static double redisBenchmark(int port, int n, int payload, int depth) throws Exception {
        List<String> cmd = List.of("redis-benchmark", "-p", Integer.toString(port), "-c", "1", "-n", Integer.toString(n),
                "-P", Integer.toString(depth), "-q", "XADD", KEY, "MAXLEN", "~", "1000000", "*", "i", "bench", "s", "123456",
                "r", "y".repeat(payload));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
            }
        }
        p.waitFor();
        Matcher m = Pattern.compile("([0-9.]+) requests per second").matcher(out);
        double last = -1;
        while (m.find()) {
            last = Double.parseDouble(m.group(1));
        }
        if (last < 0) {
            throw new IllegalStateException("redis-benchmark output not understood:\n" + out);
        }
        return last;
    }
}
