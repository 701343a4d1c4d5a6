package io.inferencepam.bench.record;

import com.google.flatbuffers.FlatBufferBuilder;
import io.github.api7.A6.ExtraInfo.Info;
import io.github.api7.A6.TextEntry;
import io.inferencepam.bench.runner.BenchPluginProvider;
import io.inferencepam.bench.runner.ClientFrames;
import io.inferencepam.bench.runner.FrameChannel;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import io.inferencepam.bench.ProcStats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Audit on vs off, through the ext-plugin protocol, in one run (issue 5, goal: the p99 of a no-op
 * route changes by ≤ 5%). The APISIX side is played as in {@code LoadDriver} (pre-encoded frames on
 * Unix sockets, real runner processes started from this jar), with what that driver does not need:
 * ExtraInfo questions answered (vars, request and response bodies, in order, as APISIX does), the
 * response phase ({@code HTTP_RESP_CALL}) and an <b>open-loop, rate-limited</b> schedule.
 *
 * <p>Three routes, each call checked to end in a no-change reply of the verified size:
 * <ul>
 *   <li>{@code off}: the no-op route, {@code ext-plugin-pre-req: [bench-noop]} — one RPC;</li>
 *   <li>{@code shape}: {@code pre-req: [bench-record-shape, bench-noop]}, {@code post-resp: [bench-record-shape]} —
 *       pam-record's protocol footprint (5 vars + request body, then request_id + response body,
 *       two RPCs) with no audit work;</li>
 *   <li>{@code on}: {@code pre-req: [pam-record, bench-noop]}, {@code post-resp: [pam-record]} on a runner with
 *       {@code PAM_REDIS_URL} set to a real redis-server and a signing key: every call is recorded,
 *       chained, signed every 1000 and written to the stream (the stream length is checked at the end).</li>
 * </ul>
 * {@code off} and {@code shape} run in one runner process, {@code on} in another (same jar, same JVM options).
 *
 * <p>Method: each target's closed-loop capacity at K connections is measured first (after a JIT
 * warm-up); the offered rate is then {@code --fraction} (default 0.5) of the <i>lowest</i> capacity,
 * the same for every target, spread evenly over K connections. Each connection sends its calls at
 * fixed intervals; latency is taken from the call's <i>intended</i> start (so a stall is charged to
 * every call it delays: no coordinated omission) and, separately, from its actual start (service
 * time). Targets are interleaved A B C / C B A per repetition. A closed loop at saturation would
 * mostly measure throughput, not the latency cost of auditing.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.record.AuditLatencyBench
 *     [--conns 32] [--fraction 0.5] [--rate 0 (auto)] [--jvm-warmup 10] [--warmup 2] [--measure 5] [--reps 3] [--body 1024] [--idle-wakeups 0 (s; 10: wake-ups per thread of each runner, idle after the load)]
 *     [--jvm-opts "-XX:+UseSerialGC -XX:ThreadPriorityPolicy=1 -Xms512m -Xmx512m"] [--variant-opts "..."] [--variant-env "K=V ..."]</pre>
 * Durations are seconds, or milliseconds with an {@code ms} suffix. {@code --variant-opts} /
 * {@code --variant-env} add a fourth target, {@code on-b}: a second audit runner launched with
 * those JVM options appended / environment variables set, measured interleaved with the others
 * (an A/B of a launch option in one run).
 * ({@code {runner}} in a JVM option is replaced by plain/audit, e.g. for a JFR file per runner).
 * {@code --variant-jar PATH} launches {@code on-b} from another build's benchmarks jar: a before/after
 * of a code change in one run. The report ends with each audit target's CPU per call beyond {@code shape}.
 */
public final class AuditLatencyBench {
    private static final int MAX_FRAME = 1 << 20;
    private static final byte HTTP_RESP_CALL = 4;

    private record Options(int conns, double fraction, double rate, Duration jvmWarmup, Duration warmup, Duration measure,
                           int reps, int body, List<String> jvmOpts, List<String> variantOpts, Map<String, String> variantEnv,
                           Duration idleWakeups, Optional<Path> variantJar) {
    }

    /** A route on a runner: conf tokens (post 0 = no response phase) and the verified reply sizes. */
    private static final class Target {
        final String name;
        final Process process;
        final Path socket;
        final long preToken;
        final long postToken;
        /** The runner's control port (its /metrics), or 0: audit runners only. */
        int controlPort;
        int reqReplyLength;
        int respReplyLength;
        long calls;

        Target(String name, Process process, Path socket, long preToken, long postToken) {
            this.name = name;
            this.process = process;
            this.socket = socket;
            this.preToken = preToken;
            this.postToken = postToken;
        }
    }

    private record Sample(double callsPerSec, Histogram latency, Histogram service, double serverCpuUs, double redisCpuUs,
                          java.util.Map<String, Double> threadCpuUs, SinkWrites writes, double xaddUsPerEntry,
                          double redisUsPerWrite) {
        /**
         * Runner CPU per call without the JIT compiler threads: what the calls cost once the code
         * is compiled. On a loaded host a runner's C2 compiler lags far behind (and recompiles
         * the I/O path when the closed-loop cells change its type profile), so it can spend
         * hundreds of µs per call inside a measured window of a few seconds: warm-up, not the
         * steady cost of a call. Reported next to the whole-process figure, never instead of it.
         */
        double appCpuUs() {
            return serverCpuUs - threadCpuUs.entrySet().stream().filter(e -> isJit(e.getKey())).mapToDouble(Map.Entry::getValue).sum();
        }

        static boolean isJit(String threadGroup) {
            return threadGroup.contains("CompilerThre");
        }
    }

    /**
     * The audit runner's sink writes over a window, from its {@code pam_audit_sink_write_entries}
     * histogram (/metrics): how many entries one pipelined round trip to Redis carried.
     * {@link #NONE} for a runner without it (plain, or a build from before it).
     */
    record SinkWrites(long writes, double entries, Map<String, Long> cumulative) {
        static final SinkWrites NONE = new SinkWrites(0, 0, Map.of());

        SinkWrites minus(SinkWrites before) {
            Map<String, Long> c = new LinkedHashMap<>();
            cumulative.forEach((le, n) -> c.put(le, n - before.cumulative.getOrDefault(le, 0L)));
            return new SinkWrites(writes - before.writes, entries - before.entries, c);
        }

        double mean() {
            return writes == 0 ? Double.NaN : entries / writes;
        }

        /** "mean 3.1 entries/write over 812 writes; ≤1 40%, ≤2 71%, …" */
        String describe() {
            if (writes == 0) {
                return "n/a";
            }
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%.1f entries/write over %,d writes;", mean(), writes));
            long previous = -1;
            for (var e : cumulative.entrySet()) {
                if (e.getValue() != previous && !e.getKey().equals("+Inf")) {
                    sb.append(String.format(Locale.ROOT, " ≤%s %.0f%%", e.getKey().replace(".0", ""), 100.0 * e.getValue() / writes));
                }
                previous = e.getValue();
                if (e.getValue() == writes) {
                    break;
                }
            }
            return sb.toString();
        }

        static SinkWrites scrape(int port) {
            if (port == 0) {
                return NONE;
            }
            String text;
            try {
                var client = java.net.http.HttpClient.newHttpClient();
                var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .timeout(Duration.ofSeconds(5)).build();
                text = client.send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            } catch (IOException e) {
                return NONE;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return NONE;
            }
            String name = "pam_audit_sink_write_entries";
            long count = 0;
            double sum = 0;
            Map<String, Long> buckets = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                if (line.startsWith(name + "_bucket{le=\"")) {
                    String le = line.substring(line.indexOf('"') + 1, line.lastIndexOf('"'));
                    buckets.put(le, Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)));
                } else if (line.startsWith(name + "_count ")) {
                    count = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith(name + "_sum ")) {
                    sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return buckets.isEmpty() ? NONE : new SinkWrites(count, sum, buckets);
        }
    }

    private final Options opt;
    private final List<Process> started = new ArrayList<>();
    private final byte[] requestBody;
    private final ByteBuffer reqBodyAnswer;
    private final ByteBuffer respBodyAnswer;
    private final byte[] responseBody;
    private final Map<String, ByteBuffer> varAnswers = new LinkedHashMap<>();
    private final ByteBuffer emptyAnswer = ByteBuffer.wrap(answer(new byte[0]));
    private long redisPid;
    private int redisPort;

    private AuditLatencyBench(Options opt) {
        this.opt = opt;
        this.requestBody = ClientFrames.chatBody(opt.body());
        this.reqBodyAnswer = ByteBuffer.wrap(answer(requestBody));
        String completion = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
                + "{\"role\":\"assistant\",\"content\":\"";
        StringBuilder sb = new StringBuilder(completion);
        while (sb.length() < opt.body() - 4) {
            sb.append("All work and no play. ");
        }
        sb.setLength(Math.max(completion.length(), opt.body() - 4));
        sb.append("\"}}]}");
        this.responseBody = sb.toString().getBytes(StandardCharsets.UTF_8);
        this.respBodyAnswer = ByteBuffer.wrap(answer(responseBody));
        varAnswers.put("remote_addr", ByteBuffer.wrap(answer("10.0.0.7".getBytes(StandardCharsets.US_ASCII))));
        varAnswers.put("http_user_agent", ByteBuffer.wrap(answer("OpenAI/Python 1.51.0".getBytes(StandardCharsets.US_ASCII))));
        varAnswers.put("http_authorization", ByteBuffer.wrap(answer("Bearer bench-token-not-a-secret".getBytes(StandardCharsets.US_ASCII))));
    }

    public static void main(String[] args) throws Exception {
        new AuditLatencyBench(parse(args)).run();
    }

    private void run() throws Exception {
        Path dir = Files.createTempDirectory("pam-audit-bench");
        System.err.println("logs in " + dir);
        String loadBefore = ProcStats.loadAverage();
        // Runners are stopped (in the finally below) before redis-server is: their writers flush
        // and checkpoint at shutdown, so the store must still be there.
        try (RedisServer redis = RedisServer.start()) {
            runWith(redis, dir, loadBefore);
        }
    }

    private void runWith(RedisServer redis, Path dir, String loadBefore) throws Exception {
        try {
            redisPort = redis.port();
            try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
                redisPid = Long.parseLong(j.info("server").lines().filter(l -> l.startsWith("process_id:"))
                        .findFirst().orElseThrow().substring("process_id:".length()).trim());
            }
            Path jar = Path.of(AuditLatencyBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Map<String, String> plainEnv = new LinkedHashMap<>();
            Path plainSock = dir.resolve("plain.sock");
            plainEnv.put("APISIX_LISTEN_ADDRESS", "unix:" + plainSock);
            plainEnv.put("PAM_CONTROL_PORT", "-1");
            plainEnv.put("APISIX_CONF_EXPIRE_TIME", "3600");
            Map<String, String> auditEnv = new LinkedHashMap<>(plainEnv);
            Path auditSock = dir.resolve("audit.sock");
            auditEnv.put("APISIX_LISTEN_ADDRESS", "unix:" + auditSock);
            auditEnv.put("PAM_REDIS_URL", redis.url());
            auditEnv.put("PAM_AUDIT_SPOOL_DIR", dir.resolve("spool").toString());
            auditEnv.put("PAM_AUDIT_SIGNING_KEY", CheckpointSigner.generate()[0]);
            int auditControl = freePort();
            auditEnv.put("PAM_CONTROL_PORT", Integer.toString(auditControl)); // its /metrics: entries per sink write
            Process plain = launch(dir, "plain", jar, plainEnv, plainSock);
            Process audit = launch(dir, "audit", jar, auditEnv, auditSock);

            String noop = "bench-noop";
            String shape = BenchPluginProvider.RECORD_SHAPE;
            List<Target> targets = List.of(
                    new Target("off", plain, plainSock, prepare(plainSock, "route#off#ext-plugin-pre-req#1", noop), 0),
                    new Target("shape", plain, plainSock, prepare(plainSock, "route#shape#ext-plugin-pre-req#1", shape, noop),
                            prepare(plainSock, "route#shape#ext-plugin-post-resp#1", shape)),
                    new Target("on", audit, auditSock, prepare(auditSock, "route#on#ext-plugin-pre-req#1", "pam-record", noop),
                            prepare(auditSock, "route#on#ext-plugin-post-resp#1", "pam-record")));
            if (!opt.variantOpts().isEmpty() || !opt.variantEnv().isEmpty() || opt.variantJar().isPresent()) {
                // A/B of launch options in the same run: a second audit runner, same env, more JVM options.
                Map<String, String> variantEnv = new LinkedHashMap<>(auditEnv);
                Path variantSock = dir.resolve("variant.sock");
                variantEnv.put("APISIX_LISTEN_ADDRESS", "unix:" + variantSock);
                variantEnv.put("PAM_AUDIT_SPOOL_DIR", dir.resolve("spool-b").toString());
                int variantControl = freePort();
                variantEnv.put("PAM_CONTROL_PORT", Integer.toString(variantControl));
                variantEnv.putAll(opt.variantEnv());
                List<String> extra = new ArrayList<>(opt.jvmOpts());
                extra.addAll(opt.variantOpts());
                Process variant = launch(dir, "variant", opt.variantJar().orElse(jar), variantEnv, variantSock, extra);
                targets = new ArrayList<>(targets);
                targets.add(new Target("on-b", variant, variantSock, prepare(variantSock, "route#onb#ext-plugin-pre-req#1", "pam-record", noop),
                        prepare(variantSock, "route#onb#ext-plugin-post-resp#1", "pam-record")));
                targets.get(3).controlPort = variantControl;
            }
            targets.get(2).controlPort = auditControl;
            for (Target t : targets) {
                verify(t);
            }
            for (Target t : targets) { // JIT warm-up of both runner JVMs before anything is recorded
                runCell(t, 0, opt.jvmWarmup(), Duration.ofMillis(100));
            }
            double lowest = Double.MAX_VALUE;
            Map<Target, Sample> capacity = new LinkedHashMap<>();
            for (Target t : targets) {
                Sample s = runCell(t, 0, Duration.ofSeconds(1), Duration.ofSeconds(3));
                capacity.put(t, s);
                System.err.printf(Locale.ROOT, "capacity %-5s K=%d closed loop: %,.0f calls/s (p99 %.1f µs), runner CPU %.1f µs/call "
                                + "(%.1f without JIT compiler threads), redis %.1f µs/call%n      runner CPU µs/call by thread:%s%n%s",
                        t.name, opt.conns(), s.callsPerSec(), s.latency().getValueAtPercentile(99) / 1e3, s.serverCpuUs(), s.appCpuUs(),
                        s.redisCpuUs(), byThread(s), storeLine(s));
                lowest = Math.min(lowest, s.callsPerSec());
            }
            // The closed loops leave a backlog in the audit writers: let them catch up, or the
            // first measured cells pay for it.
            settledStreamLength(redis);
            double rate = opt.rate() > 0 ? opt.rate() : opt.fraction() * lowest;
            System.err.printf(Locale.ROOT, "offered rate: %,.0f calls/s for every target%n", rate);

            Map<Target, List<Sample>> samples = new LinkedHashMap<>();
            targets.forEach(t -> samples.put(t, new ArrayList<>()));
            for (int rep = 0; rep < opt.reps(); rep++) {
                List<Target> order = new ArrayList<>(targets);
                if (rep % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (Target t : order) {
                    Sample s = runCell(t, rate, opt.warmup(), opt.measure());
                    samples.get(t).add(s);
                    System.err.printf(Locale.ROOT, "rep %d %-5s %,8.0f calls/s  p50 %7.1f  p99 %8.1f  p99.9 %8.1f µs (service p99 %8.1f)  "
                                    + "runner CPU %5.1f µs/call, redis %4.1f µs/call%n",
                            rep + 1, t.name, s.callsPerSec(), s.latency().getValueAtPercentile(50) / 1e3,
                            s.latency().getValueAtPercentile(99) / 1e3, s.latency().getValueAtPercentile(99.9) / 1e3,
                            s.service().getValueAtPercentile(99) / 1e3, s.serverCpuUs(), s.redisCpuUs());
                    System.err.println("      runner CPU µs/call by thread:" + byThread(s));
                    System.err.print(storeLine(s));
                }
            }
            long audited = targets.stream().skip(2).mapToLong(t -> t.calls).sum();
            long stored = settledStreamLength(redis);
            System.out.println(report(targets, samples, rate, loadBefore, stored, audited));
            System.out.println(capacityReport(targets, capacity));
            if (!opt.idleWakeups().isZero()) {
                System.out.println(idleWakeups(targets, opt.idleWakeups()));
            }
        } finally {
            for (Process p : started) {
                p.destroy();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    /**
     * Wake-ups per second of each runner, idle after serving the load: the growth of every
     * thread's context switches (voluntary + involuntary, /proc/…/task/…/status) over the window, by thread group.
     */
    private static String idleWakeups(List<Target> targets, Duration window) throws InterruptedException {
        Thread.sleep(1000); // the last calls' records reach the store first
        Map<Long, Map<String, Long>> before = new LinkedHashMap<>();
        for (Target t : targets) {
            before.putIfAbsent(t.process.pid(), ProcStats.threadContextSwitches(t.process.pid()));
        }
        Thread.sleep(window.toMillis());
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "%nIdle wake-ups per second after the load (context switches over %d s, by thread group):%n", window.toSeconds()));
        for (Target t : targets) {
            Map<String, Long> b = before.remove(t.process.pid());
            if (b == null) {
                continue; // a process shared by two targets: reported once
            }
            Map<String, Long> a = ProcStats.threadContextSwitches(t.process.pid());
            double secs = window.toMillis() / 1000.0;
            double total = 0;
            StringBuilder threads = new StringBuilder();
            for (var e : a.entrySet()) {
                double perSec = (e.getValue() - b.getOrDefault(e.getKey(), 0L)) / secs;
                total += perSec;
                if (perSec >= 0.5) {
                    threads.append(String.format(Locale.ROOT, " %s %.1f;", e.getKey(), perSec));
                }
            }
            out.append(String.format(Locale.ROOT, "- runner of `%s`: %.1f/s in all:%s%n", t.name, total, threads));
        }
        return out.toString();
    }

    /** Entries in the audit stream once the writers are idle (no change for 200 ms; records plus a checkpoint every 1000). */
    private static long settledStreamLength(RedisServer redis) throws InterruptedException {
        try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", redis.port())) {
            long last = -1;
            long n = j.xlen(RedisStreamSink.DEFAULT_KEY);
            for (int i = 0; i < 100 && n != last; i++) {
                Thread.sleep(200);
                last = n;
                n = j.xlen(RedisStreamSink.DEFAULT_KEY);
            }
            return n;
        }
    }

    // ---- one measured window ------------------------------------------------------------------

    private static final class Phase {
        static final int WARMUP = 0;
        static final int MEASURE = 1;
        static final int STOP = 2;
        volatile int value = WARMUP;
        volatile long measureFrom = Long.MAX_VALUE;
    }

    /** rate 0 = closed loop. */
    private Sample runCell(Target t, double rate, Duration warmup, Duration measure) throws Exception {
        int k = opt.conns();
        Phase phase = new Phase();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Histogram[] lat = new Histogram[k];
        Histogram[] svc = new Histogram[k];
        long[] counts = new long[k];
        long[] all = new long[k];
        Thread[] threads = new Thread[k];
        long interval = rate > 0 ? (long) (1e9 * k / rate) : 0;
        long start = System.nanoTime() + 1_000_000;
        for (int i = 0; i < k; i++) {
            int idx = i;
            lat[i] = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
            svc[i] = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
            FrameChannel ch = FrameChannel.connect(t.socket, MAX_FRAME);
            threads[i] = new Thread(() -> {
                try (ch) {
                    Conn c = new Conn(t, idx);
                    long next = start + (interval * idx) / k; // connections staggered over one interval
                    while (phase.value != Phase.STOP) {
                        long scheduled;
                        if (interval > 0) {
                            long now = System.nanoTime();
                            if (now < next) {
                                LockSupport.parkNanos(next - now);
                                continue;
                            }
                            scheduled = next;
                            next += interval;
                        } else {
                            scheduled = System.nanoTime();
                        }
                        long began = System.nanoTime();
                        call(ch, t, c);
                        long end = System.nanoTime();
                        all[idx]++;
                        if (phase.value == Phase.MEASURE && scheduled >= phase.measureFrom) {
                            lat[idx].recordValue(end - scheduled);
                            svc[idx].recordValue(end - began);
                            counts[idx]++;
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    phase.value = Phase.STOP;
                }
            }, "audit-bench-" + i);
            threads[i].start();
        }
        Thread.sleep(warmup.toMillis());
        SinkWrites writes0 = SinkWrites.scrape(t.controlPort);
        long[] xadd0 = xaddStats();
        long cpu0 = ProcStats.cpuNanos(t.process.pid());
        var threads0 = ProcStats.threadCpuNanos(t.process.pid());
        long redis0 = ProcStats.cpuNanos(redisPid);
        long t0 = System.nanoTime();
        phase.measureFrom = t0;
        phase.value = Phase.MEASURE;
        Thread.sleep(measure.toMillis());
        long t1 = System.nanoTime();
        phase.value = Phase.STOP;
        long cpu1 = ProcStats.cpuNanos(t.process.pid());
        var threads1 = ProcStats.threadCpuNanos(t.process.pid());
        long redis1 = ProcStats.cpuNanos(redisPid);
        long[] xadd1 = xaddStats();
        SinkWrites writes = SinkWrites.scrape(t.controlPort).minus(writes0);
        for (Thread th : threads) {
            th.join(30_000);
        }
        if (failure.get() != null) {
            throw new IllegalStateException(t.name + " failed", failure.get());
        }
        Histogram l = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
        Histogram s = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
        long calls = 0;
        for (int i = 0; i < k; i++) {
            l.add(lat[i]);
            s.add(svc[i]);
            calls += counts[i];
            t.calls += all[i];
        }
        double secs = (t1 - t0) / 1e9;
        long n = Math.max(1, calls);
        var byThread = new java.util.TreeMap<String, Double>();
        threads1.forEach((name, v) -> {
            double us = (v - threads0.getOrDefault(name, 0L)) / 1e3 / n;
            if (us >= 0.5) {
                byThread.put(name, us);
            }
        });
        long xadds = xadd1[0] - xadd0[0];
        return new Sample(calls / secs, l, s, (cpu1 - cpu0) / 1e3 / n, (redis1 - redis0) / 1e3 / n, byThread,
                writes, xadds == 0 ? Double.NaN : (xadd1[1] - xadd0[1]) / (double) xadds,
                writes.writes() == 0 ? Double.NaN : (redis1 - redis0) / 1e3 / writes.writes());
    }

    /**
     * XADD calls and µs spent inside them ({@code INFO commandstats}): what redis spends on the
     * command itself, as against its event loop, reads and writes per round trip.
     */
    private long[] xaddStats() {
        try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", redisPort)) {
            for (String line : j.info("commandstats").split("\r?\n")) {
                if (line.startsWith("cmdstat_xadd:")) {
                    long calls = 0;
                    long usec = 0;
                    for (String kv : line.substring(line.indexOf(':') + 1).split(",")) {
                        if (kv.startsWith("calls=")) {
                            calls = Long.parseLong(kv.substring(6));
                        } else if (kv.startsWith("usec=")) {
                            usec = Long.parseLong(kv.substring(5));
                        }
                    }
                    return new long[] {calls, usec};
                }
            }
        }
        return new long[] {0, 0};
    }

    /** Per cell, for an audit runner: entries per sink write, and redis CPU per write and inside XADD. */
    private static String storeLine(Sample s) {
        if (s.writes().writes() == 0) {
            return "";
        }
        return String.format(Locale.ROOT, "      sink writes: %s; redis CPU per write %.1f µs, inside XADD %.1f µs per entry%n",
                s.writes().describe(), s.redisUsPerWrite(), s.xaddUsPerEntry());
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            return ss.getLocalPort();
        }
    }

    /** Per connection: pre-encoded call frames and the current nginx request_id answer. */
    private final class Conn {
        final ByteBuffer request;
        final ByteBuffer response;
        final String prefix;
        long counter;
        ByteBuffer requestId;
        final io.github.api7.A6.ExtraInfo.Req q = new io.github.api7.A6.ExtraInfo.Req();
        final io.github.api7.A6.ExtraInfo.Var v = new io.github.api7.A6.ExtraInfo.Var();
        // own views of the shared answers: a ByteBuffer's position is per view, and every connection writes them
        final ByteBuffer reqBody = reqBodyAnswer.duplicate();
        final ByteBuffer respBody = respBodyAnswer.duplicate();
        final ByteBuffer empty = emptyAnswer.duplicate();
        final Map<String, ByteBuffer> vars = new java.util.HashMap<>();

        Conn(Target t, int idx) {
            request = ClientFrames.direct(ClientFrames.requestCall(idx + 1, t.preToken, opt.body()));
            response = t.postToken == 0 ? null : ClientFrames.direct(responseCall(idx + 1, t.postToken, opt.body()));
            varAnswers.forEach((name, answer) -> vars.put(name, answer.duplicate()));
            prefix = String.format("%08x", (t.name.hashCode() * 31 + idx) & 0xffffffffL) + String.format("%08x", System.nanoTime() & 0xffffffffL);
        }

        void nextCall() {
            counter++;
            requestId = ByteBuffer.wrap(answer((prefix + String.format("%016x", counter)).getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** One HTTP call as APISIX makes it: the request RPC, then (if the route has post-resp) the response RPC. */
    private void call(FrameChannel ch, Target t, Conn c) throws IOException {
        c.nextCall();
        ch.write(c.request);
        serve(ch, c, ClientFrames.HTTP_REQ_CALL, t.reqReplyLength);
        if (c.response != null) {
            ch.write(c.response);
            serve(ch, c, HTTP_RESP_CALL, t.respReplyLength);
        }
    }

    /** Answers ExtraInfo questions in order until the call's reply, which must be the verified no-change size. */
    private int serve(FrameChannel ch, Conn c, int finalType, int expectedLength) throws IOException {
        while (true) {
            int type = ch.read();
            if (type == ClientFrames.EXTRA_INFO) {
                ch.write(answerFor(ch, c));
                continue;
            }
            if (type != finalType || (expectedLength > 0 && ch.payloadLength() != expectedLength)) {
                throw new IOException("expected a no-change reply of type " + finalType + " (" + expectedLength + " bytes), got type "
                        + type + " of " + ch.payloadLength() + " bytes (a Stop or a replaced response means the call failed)");
            }
            return ch.payloadLength();
        }
    }

    private ByteBuffer answerFor(FrameChannel ch, Conn c) {
        io.github.api7.A6.ExtraInfo.Req q = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(ch.payload(), c.q);
        ByteBuffer a = switch (q.infoType()) {
            case Info.Var -> {
                String name = ((io.github.api7.A6.ExtraInfo.Var) q.info(c.v)).name();
                yield "request_id".equals(name) ? c.requestId : c.vars.getOrDefault(name, c.empty);
            }
            case Info.ReqBody -> c.reqBody;
            case Info.RespBody -> c.respBody;
            default -> c.empty;
        };
        return a;
    }

    // ---- set-up ----------------------------------------------------------------------------

    private void verify(Target t) throws IOException {
        try (FrameChannel ch = FrameChannel.connect(t.socket, MAX_FRAME)) {
            Conn c = new Conn(t, 0);
            c.nextCall();
            ch.write(c.request);
            serve(ch, c, ClientFrames.HTTP_REQ_CALL, 0);
            var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(ch.payload());
            if (resp.actionType() != io.github.api7.A6.HTTPReqCall.Action.NONE) {
                throw new IllegalStateException(t.name + ": expected action NONE, got " + resp.actionType());
            }
            t.reqReplyLength = ch.payloadLength();
            if (c.response != null) {
                ch.write(c.response);
                serve(ch, c, HTTP_RESP_CALL, 0);
                var r = io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(ch.payload());
                // A runtime that fetched the body hands it back as it was (or nothing): either is "unchanged".
                byte[] body = new byte[r.bodyLength()];
                for (int i = 0; i < body.length; i++) {
                    body[i] = (byte) r.body(i);
                }
                if ((r.status() != 0 && r.status() != 200) || (body.length != 0 && !Arrays.equals(body, responseBody))) {
                    throw new IllegalStateException(t.name + ": expected an unchanged response, got status " + r.status()
                            + " with " + r.bodyLength() + " body bytes");
                }
                t.respReplyLength = ch.payloadLength();
            }
        }
    }

    private Process launch(Path dir, String name, Path jar, Map<String, String> env, Path socket) throws Exception {
        return launch(dir, name, jar, env, socket, opt.jvmOpts());
    }

    private Process launch(Path dir, String name, Path jar, Map<String, String> env, Path socket, List<String> jvmOpts) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        jvmOpts.forEach(o -> cmd.add(o.replace("{runner}", name))); // e.g. a JFR file per runner
        cmd.add("-cp");
        cmd.add(jar.toString());
        cmd.add("io.inferencepam.runner.cli.Main");
        cmd.add("run");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " runner did not start:\n" + Files.readString(dir.resolve(name + ".log")));
            }
            Thread.sleep(5);
        }
        return p;
    }

    /** PrepareConf with one or more plugins ({} conf each); returns the token. */
    private static long prepare(Path socket, String key, String... plugins) throws IOException, InterruptedException {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int k = b.createString(key);
        int[] entries = new int[plugins.length];
        for (int i = 0; i < plugins.length; i++) {
            entries[i] = TextEntry.createTextEntry(b, b.createString(plugins[i]), b.createString("{}"));
        }
        int conf = io.github.api7.A6.PrepareConf.Req.createConfVector(b, entries);
        io.github.api7.A6.PrepareConf.Req.startReq(b);
        io.github.api7.A6.PrepareConf.Req.addConf(b, conf);
        io.github.api7.A6.PrepareConf.Req.addKey(b, k);
        b.finish(io.github.api7.A6.PrepareConf.Req.endReq(b));
        // A refusal for a passing reason (the audit service still starting on a loaded host) is
        // answered again, as APISIX does on the next request.
        for (int attempt = 1; ; attempt++) {
            try (FrameChannel ch = FrameChannel.connect(socket, MAX_FRAME)) {
                ch.write(ClientFrames.direct(ClientFrames.frame(ClientFrames.PREPARE_CONF, b)));
                int type = ch.read();
                if (type == ClientFrames.PREPARE_CONF) {
                    return io.github.api7.A6.PrepareConf.Resp.getRootAsResp(ch.payload()).confToken();
                }
                if (attempt == 10) {
                    throw new IllegalStateException("PrepareConf " + key + " " + Arrays.toString(plugins) + " refused (type " + type + ")");
                }
            }
            Thread.sleep(1000);
        }
    }

    /** HTTPRespCall for an upstream 200 with a JSON body of {@code bodyLength} bytes. */
    private static byte[] responseCall(long id, long token, int bodyLength) {
        FlatBufferBuilder b = new FlatBufferBuilder(256);
        int h1 = TextEntry.createTextEntry(b, b.createString("Content-Type"), b.createString("application/json"));
        int h2 = TextEntry.createTextEntry(b, b.createString("Content-Length"), b.createString(Integer.toString(bodyLength)));
        int headers = io.github.api7.A6.HTTPRespCall.Req.createHeadersVector(b, new int[] {h1, h2});
        io.github.api7.A6.HTTPRespCall.Req.startReq(b);
        io.github.api7.A6.HTTPRespCall.Req.addId(b, id);
        io.github.api7.A6.HTTPRespCall.Req.addStatus(b, 200);
        io.github.api7.A6.HTTPRespCall.Req.addHeaders(b, headers);
        io.github.api7.A6.HTTPRespCall.Req.addConfToken(b, token);
        b.finish(io.github.api7.A6.HTTPRespCall.Req.endReq(b));
        return ClientFrames.frame(HTTP_RESP_CALL, b);
    }

    private static byte[] answer(byte[] value) {
        return ClientFrames.bodyAnswer(value); // an ExtraInfo.Resp{result}: the same frame for vars and bodies
    }

    // ---- report ------------------------------------------------------------------------------

    private String report(List<Target> targets, Map<Target, List<Sample>> samples, double rate, String loadBefore,
                          long stored, long auditCalls) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Audit on vs off: K=%d connections, open loop at %,.0f calls/s offered to every target "
                        + "(%.0f%% of the lowest closed-loop capacity), %d rep(s) × (%d ms warm-up + %d ms measured), targets interleaved; "
                        + "%d CPUs; server JVM options: %s; load average (1/5/15 min) at start %s, at end %s%n%n",
                opt.conns(), rate, opt.rate() > 0 ? Double.NaN : opt.fraction() * 100, opt.reps(), opt.warmup().toMillis(),
                opt.measure().toMillis(), Runtime.getRuntime().availableProcessors(),
                opt.jvmOpts().isEmpty() ? "(defaults)" : String.join(" ", opt.jvmOpts()), loadBefore, ProcStats.loadAverage()));
        sb.append("| target | calls/s median | p50 µs | p90 µs | p99 µs | p99.9 µs | p99 per rep, median (min–max) "
                + "| p99 ÷ off, median of paired reps (min–max) | p99 ÷ shape (same) | p99 ÷ shape, all reps merged [95% bootstrap CI] "
                + "| runner CPU µs/call | redis CPU µs/call |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<Sample> off = samples.get(targets.get(0));
        List<Sample> shape = samples.get(targets.get(1));
        for (Target t : targets) {
            List<Sample> r = samples.get(t);
            Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
            r.forEach(x -> h.add(x.latency()));
            double[] p99 = r.stream().mapToDouble(x -> x.latency().getValueAtPercentile(99) / 1e3).toArray();
            sb.append(String.format(Locale.ROOT, "| %s | %,.0f | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %s | %.1f | %.1f |%n", t.name,
                    median(r.stream().mapToDouble(Sample::callsPerSec).toArray()),
                    h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, spread(p99, "%.1f"), ratio(r, off), ratio(r, shape), mergedRatio(r, shape),
                    median(r.stream().mapToDouble(Sample::serverCpuUs).toArray()),
                    median(r.stream().mapToDouble(Sample::redisCpuUs).toArray())));
        }
        if (targets.size() > 3) {
            List<Sample> a = samples.get(targets.get(3));
            List<Sample> b = samples.get(targets.get(2));
            sb.append(String.format(Locale.ROOT, "%nVariant (`on-b` = `on` + %s %s%s): p99 on-b ÷ on, paired reps: %s; merged: %s%n",
                    String.join(" ", opt.variantOpts()), opt.variantEnv(), opt.variantJar().map(j -> " from " + j).orElse(""),
                    ratio(a, b), mergedRatio(a, b)));
        }
        sb.append("\nRunner CPU µs/call by thread group, median of the reps:\n");
        for (Target t : targets) {
            java.util.Set<String> groups = new java.util.TreeSet<>();
            samples.get(t).forEach(x -> groups.addAll(x.threadCpuUs().keySet()));
            StringBuilder line = new StringBuilder("- " + t.name + ":");
            for (String g : groups) {
                line.append(String.format(Locale.ROOT, " %s %.1f", g,
                        median(samples.get(t).stream().mapToDouble(x -> x.threadCpuUs().getOrDefault(g, 0.0)).toArray())));
            }
            sb.append(line).append('\n');
        }
        // The issue 14 measure: runner CPU per call beyond the same protocol shape without audit work.
        double shapeCpu = median(shape.stream().mapToDouble(Sample::serverCpuUs).toArray());
        for (Target t : targets.subList(2, targets.size())) {
            double cpu = median(samples.get(t).stream().mapToDouble(Sample::serverCpuUs).toArray());
            double[] paired = new double[Math.min(samples.get(t).size(), shape.size())];
            for (int i = 0; i < paired.length; i++) {
                paired[i] = samples.get(t).get(i).serverCpuUs() - shape.get(i).serverCpuUs();
            }
            double[] pairedApp = new double[paired.length];
            for (int i = 0; i < paired.length; i++) {
                pairedApp[i] = samples.get(t).get(i).appCpuUs() - shape.get(i).appCpuUs();
            }
            sb.append(String.format(Locale.ROOT, "%naudit CPU per call, %s: %.1f µs (runner CPU %.1f − shape %.1f; paired reps %s); "
                            + "without JIT compiler threads: paired reps %s; redis CPU per record %.1f µs",
                    t.name, cpu - shapeCpu, cpu, shapeCpu, spread(paired, "%.1f"), spread(pairedApp, "%.1f"),
                    median(samples.get(t).stream().mapToDouble(Sample::redisCpuUs).toArray()) / 2));
            List<Sample> r = samples.get(t);
            if (r.stream().anyMatch(x -> x.writes().writes() > 0)) {
                sb.append(String.format(Locale.ROOT, "%n  sink writes, %s (medians of the reps): %.1f entries per write; redis CPU per write "
                                + "%.1f µs, of which inside XADD %.1f µs per entry; last rep: %s",
                        t.name, median(r.stream().mapToDouble(x -> x.writes().mean()).toArray()),
                        median(r.stream().mapToDouble(Sample::redisUsPerWrite).toArray()),
                        median(r.stream().mapToDouble(Sample::xaddUsPerEntry).toArray()), r.get(r.size() - 1).writes().describe()));
            }
        }
        sb.append(String.format(Locale.ROOT, "%nAudit stream after the run: %,d entries for %,d audited calls (warm-ups included; "
                + "plus one signed checkpoint per 1000).%n", stored, auditCalls));
        sb.append("Latency from each call's intended start (open loop, no coordinated omission); percentiles of the merged "
                + "histogram of all reps. Runner CPU: utime+stime of the runner process over the window ÷ calls (the `on` runner "
                + "includes its audit writer threads; `off` and `shape` share one process). Redis CPU: redis-server's, same way.\n");
        return sb.toString();
    }

    private static String byThread(Sample s) {
        StringBuilder threads = new StringBuilder();
        s.threadCpuUs().forEach((name, us) -> threads.append(String.format(Locale.ROOT, " %s %.1f", name, us)));
        return threads.toString();
    }

    /**
     * The closed-loop cells (one each, before the open-loop reps): CPU per call at saturation, by
     * thread group, and each audit target's CPU per call beyond {@code shape}'s, with and without
     * the JIT compiler threads (see {@link Sample#appCpuUs}).
     */
    private String capacityReport(List<Target> targets, Map<Target, Sample> capacity) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "%nAt capacity (closed loop, K=%d, one 3 s cell each after the JIT warm-up):%n", opt.conns()));
        sb.append("| target | calls/s | runner CPU µs/call | without JIT threads | redis µs/call | by thread group (µs/call) |\n");
        sb.append("|---|---:|---:|---:|---:|---|\n");
        for (Target t : targets) {
            Sample s = capacity.get(t);
            sb.append(String.format(Locale.ROOT, "| %s | %,.0f | %.1f | %.1f | %.1f |%s |%n", t.name, s.callsPerSec(), s.serverCpuUs(),
                    s.appCpuUs(), s.redisCpuUs(), byThread(s)));
        }
        Sample shape = capacity.get(targets.get(1));
        for (Target t : targets.subList(2, targets.size())) {
            Sample s = capacity.get(t);
            sb.append(String.format(Locale.ROOT, "audit CPU per call at capacity, %s: %.1f µs (%.1f without JIT threads); redis CPU per record %.1f µs%n",
                    t.name, s.serverCpuUs() - shape.serverCpuUs(), s.appCpuUs() - shape.appCpuUs(), s.redisCpuUs() / 2));
            sb.append(storeLine(s));
        }
        return sb.toString();
    }

    private static String ratio(List<Sample> a, List<Sample> b) {
        if (a == b) {
            return "—";
        }
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).latency().getValueAtPercentile(99) / (double) b.get(i).latency().getValueAtPercentile(99);
        }
        return "**" + spread(v, "%.2f") + "**";
    }

    /**
     * p99 of all of {@code a}'s reps merged ÷ the same of {@code b}, with a 95% bootstrap interval
     * (reps resampled in pairs, so a noisy moment of the machine stays with its neighbours). Many
     * short reps make this interval narrow enough to say whether a few percent is there.
     */
    private static String mergedRatio(List<Sample> a, List<Sample> b) {
        if (a == b) {
            return "—";
        }
        int n = a.size();
        double point = p99(a, null) / p99(b, null);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);
        double[] boot = new double[n < 2 ? 0 : 1000];
        for (int i = 0; i < boot.length; i++) {
            int[] pick = rnd.ints(n, 0, n).toArray();
            boot[i] = p99(a, pick) / p99(b, pick);
        }
        Arrays.sort(boot);
        return boot.length == 0 ? String.format(Locale.ROOT, "%.3f", point)
                : String.format(Locale.ROOT, "%.3f [%.3f–%.3f]", point, boot[(int) (0.025 * boot.length)], boot[(int) (0.975 * boot.length) - 1]);
    }

    /** p99 in ns of the merged latency histograms of the picked reps (all if null). */
    private static double p99(List<Sample> s, int[] pick) {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
        if (pick == null) {
            s.forEach(x -> h.add(x.latency()));
        } else {
            for (int i : pick) {
                h.add(s.get(i).latency());
            }
        }
        return h.getValueAtPercentile(99);
    }

    private static String spread(double[] v, String fmt) {
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, fmt, median(s)) + " (" + String.format(Locale.ROOT, fmt, s[0]) + "–"
                + String.format(Locale.ROOT, fmt, s[s.length - 1]) + ")";
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }



    /** Seconds, or milliseconds with an {@code ms} suffix (short slices, many reps). */
    private static Duration duration(String v) {
        return v.endsWith("ms") ? Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2))) : Duration.ofSeconds(Long.parseLong(v));
    }

    private static Options parse(String[] args) {
        int conns = 32;
        double fraction = 0.5;
        double rate = 0;
        Duration jvmWarmup = Duration.ofSeconds(10);
        Duration warmup = Duration.ofSeconds(2);
        Duration measure = Duration.ofSeconds(5);
        int reps = 3;
        int body = 1024;
        // The launch flags of apisix-conf/config.yaml, plus a fixed heap.
        List<String> jvm = List.of("-XX:+UseSerialGC", "-XX:ThreadPriorityPolicy=1", "-Xms512m", "-Xmx512m");
        List<String> variant = List.of();
        Map<String, String> variantEnv = new LinkedHashMap<>();
        Duration idleWakeups = Duration.ZERO;
        Optional<Path> variantJar = Optional.empty();
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--conns" -> conns = Integer.parseInt(v);
                case "--fraction" -> fraction = Double.parseDouble(v);
                case "--rate" -> rate = Double.parseDouble(v);
                case "--jvm-warmup" -> jvmWarmup = duration(v);
                case "--warmup" -> warmup = duration(v);
                case "--measure" -> measure = duration(v);
                case "--reps" -> reps = Integer.parseInt(v);
                case "--body" -> body = Integer.parseInt(v);
                case "--idle-wakeups" -> idleWakeups = duration(v);
                case "--jvm-opts" -> jvm = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
                case "--variant-opts" -> variant = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
                case "--variant-jar" -> variantJar = Optional.of(Path.of(v));
                case "--variant-env" -> {
                    for (String kv : v.trim().split("\\s+")) {
                        variantEnv.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                    }
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        return new Options(conns, fraction, rate, jvmWarmup, warmup, measure, reps, body, jvm, variant, variantEnv, idleWakeups,
                variantJar);
    }
}
