package io.inferencepam.pam.quota;

import io.inferencepam.bench.ProcStats;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.redis.PamRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

/**
 * What a quota decision costs in Redis, against plain commands in the same run on the same
 * redis-server and the same client pool:
 * <ol>
 *   <li><b>Round trips.</b> {@code CONFIG RESETSTAT}, then {@code n} admissions and {@code n} token
 *   charges through {@link QuotaStore} (the plugin's code path, synchronously); {@code INFO
 *   commandstats} then says how many commands clients sent: EVALSHA (+ EVAL after a NOSCRIPT) per
 *   call, and nothing else. The commands the script runs inside Redis (HMGET, HINCRBY, …) are
 *   listed apart: they cost server CPU, not round trips.</li>
 *   <li><b>Latency.</b> One thread, calls one after another (each a full round trip): PING, INCR,
 *   admission with 1 and with 3 limits, token charge. Rounds interleaved (A B C … / … C B A),
 *   median of per-round medians, in µs, and each as a multiple of PING; plus redis-server CPU per
 *   call from /proc.</li>
 * </ol>
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.quota.QuotaRoundTripBench [calls] [rounds]</pre>
 */
public final class QuotaRoundTripBench {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        try (RedisServer server = RedisServer.start(); PamRedis redis = new PamRedis(server.url());
             Jedis admin = new Jedis("127.0.0.1", server.port())) {
            long serverPid = Long.parseLong(admin.info("server").lines().filter(l -> l.startsWith("process_id:"))
                    .findFirst().orElseThrow().substring("process_id:".length()).trim());
            QuotaStore store = new QuotaStore(redis, Runnable::run);
            Principal p = new Principal("https://idp.bench", "bench-user", "", List.of(), "");
            List<QuotaCounter> one = QuotaKeys.counters(List.of(limit("rt-one", 86_400, true)), p, Optional.of("m"));
            List<QuotaCounter> three = QuotaKeys.counters(List.of(limit("rt-a", 60, false), limit("rt-b", 3_600, true),
                    limit("rt-c", 86_400, true)), p, Optional.of("m"));
            UnifiedJedis client = redis.client();
            System.out.printf("redis-server %s on %s, %d calls per measurement, %d rounds, load average %s%n",
                    admin.info("server").lines().filter(l -> l.startsWith("redis_version:")).findFirst().orElse("?"),
                    server.url(), n, rounds, ProcStats.loadAverage());

            // 1. round trips, counted by the server
            admin.scriptFlush(); // the first call meets NOSCRIPT, as after a Redis restart
            admin.configResetStat();
            for (int i = 0; i < n; i++) {
                store.admitNow(one);
                store.chargeNow(one, 5);
            }
            Map<String, Long> calls = commandCalls(admin.info("commandstats"));
            long clientCommands = calls.getOrDefault("evalsha", 0L) + calls.getOrDefault("eval", 0L);
            Map<String, Long> inner = new LinkedHashMap<>(calls);
            inner.keySet().removeAll(List.of("evalsha", "eval", "info", "config|resetstat", "config"));
            long noscript = failed(admin.info("commandstats"), "evalsha");
            System.out.printf("round trips: %d admissions + %d charges -> EVALSHA %d (%d of them NOSCRIPT), EVAL %d "
                            + "(the fallback after NOSCRIPT), no other client command: %.4f round trips per call%n",
                    n, n, calls.getOrDefault("evalsha", 0L), noscript, calls.getOrDefault("eval", 0L), clientCommands / (2.0 * n));
            System.out.printf("  commands run inside the scripts (server work, no round trip): %s%n", inner);
            if (clientCommands - noscript != 2L * n || calls.getOrDefault("eval", 0L) != noscript) {
                System.out.printf("  UNEXPECTED: %d client commands, %d NOSCRIPT, for %d calls%n", clientCommands, noscript, 2 * n);
            }

            // 2. latency against PING and INCR, same client, same thread
            Map<String, Runnable> ops = new LinkedHashMap<>();
            ops.put("PING", client::ping);
            ops.put("INCR", () -> client.incr("pam:bench:incr"));
            ops.put("admit, 1 limit", () -> store.admitNow(one));
            ops.put("admit, 3 limits", () -> store.admitNow(three));
            ops.put("charge, 1 limit", () -> store.chargeNow(one, 5));
            Map<String, List<Double>> medians = new LinkedHashMap<>();
            Map<String, Long> serverCpu = new LinkedHashMap<>();
            ops.keySet().forEach(k -> medians.put(k, new ArrayList<>()));
            List<String> names = new ArrayList<>(ops.keySet());
            for (int r = -1; r < rounds; r++) { // round -1 warms up
                List<String> order = new ArrayList<>(names);
                if (r % 2 != 0) {
                    java.util.Collections.reverse(order);
                }
                for (String name : order) {
                    long[] t = new long[n];
                    long cpu0 = ProcStats.cpuNanos(serverPid);
                    for (int i = 0; i < n; i++) {
                        long s = System.nanoTime();
                        ops.get(name).run();
                        t[i] = System.nanoTime() - s;
                    }
                    long cpu = ProcStats.cpuNanos(serverPid) - cpu0;
                    if (r >= 0) {
                        Arrays.sort(t);
                        medians.get(name).add(t[n / 2] / 1000.0);
                        serverCpu.merge(name, cpu, Long::sum);
                    }
                }
            }
            double ping = median(medians.get("PING"));
            System.out.printf("%-18s %12s %10s %22s%n", "operation", "median µs", "× PING", "redis-server CPU µs/call");
            for (String name : names) {
                double m = median(medians.get(name));
                System.out.printf("%-18s %12.1f %10.2f %22.2f%n", name, m, m / ping, serverCpu.get(name) / 1000.0 / ((double) n * rounds));
            }
            System.out.printf("per-round medians (µs): %s%n", medians);
        }
    }

    static QuotaLimit limit(String id, long windowSeconds, boolean tokens) {
        return new QuotaLimit(id, Duration.ofSeconds(windowSeconds), Long.MAX_VALUE / 4, tokens ? Long.MAX_VALUE / 4 : -1, List.of(), false);
    }

    /** {@code cmdstat_<name>:calls=N,…} lines → name → N. */
    static Map<String, Long> commandCalls(String info) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("cmdstat_")) {
                String name = line.substring("cmdstat_".length(), line.indexOf(':'));
                String calls = line.substring(line.indexOf("calls=") + 6);
                out.put(name, Long.parseLong(calls.substring(0, calls.indexOf(','))));
            }
        }
        return out;
    }

    /** {@code failed_calls} of one command (Redis 7 counts a NOSCRIPT reply there, and in {@code calls}). */
    static long failed(String info, String command) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("cmdstat_" + command + ":") && line.contains("failed_calls=")) {
                String v = line.substring(line.indexOf("failed_calls=") + 13);
                int end = v.indexOf(',');
                return Long.parseLong(end < 0 ? v.trim() : v.substring(0, end));
            }
        }
        return 0;
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        java.util.Collections.sort(s);
        return s.get(s.size() / 2);
    }
}
