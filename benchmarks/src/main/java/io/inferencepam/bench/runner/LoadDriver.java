package io.inferencepam.bench.runner;

import io.inferencepam.bench.ProcStats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * Protocol load driver: the APISIX side of the ext-plugin protocol under closed-loop load, against
 * the real runner process and, in the same run, against {@link FloorServer} (same framing, no
 * work) as the physical floor.
 *
 * <p>For each cell (K connections × body size) each connection runs a closed loop: send a
 * pre-encoded {@code HTTP_REQ_CALL}; if the server asks for the body ({@code EXTRA_INFO}), send
 * the pre-encoded body answer; read the final reply. Warm-up first (not recorded), then a fixed
 * measured window. Runner and floor cells are interleaved (A B, then B A on the next repetition)
 * so drift on a noisy machine hits both. Every reply is checked for type and exact size (a Stop
 * 503 is much larger than the expected "no action" reply), and the reply sizes of runner and
 * floor are checked to be equal before measuring.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.inferencepam.bench.runner.LoadDriver [--conns 1,32,128]
 * [--bodies 0,4096,65536] [--jvm-warmup 20] [--warmup 2] [--measure 3] [--reps 3] [--jvm-opts "-Xms512m -Xmx512m"]
 * [--baseline before=/path/to/other/benchmarks.jar] [--client-loops N] [--floor-loops N] [--out results.md]}
 * (durations in seconds). A baseline is a second runner started from another build, measured in
 * the same run.
 *
 * <p>Client model: by default one blocking thread per connection; {@code --client-loops N} runs the
 * K connections on N event-loop threads instead ({@link EventLoopClients}), as APISIX's nginx
 * workers do. {@code --floor-loops N} makes the floor an N-thread event-loop server as well: each
 * client model gets the floor server that is cheapest for it (measure both floors and use the
 * faster one as the floor).
 */
public final class LoadDriver {
    private static final int MAX_FRAME = 1 << 20;
    private static final String NOOP_KEY = "route#bench-noop#ext-plugin-pre-req#1";
    private static final String BODY_KEY = "route#bench-body#ext-plugin-pre-req#1";

    private record Options(Path jar, Map<String, String> baselines, List<Integer> conns, List<Integer> bodies,
                           Duration jvmWarmup, Duration warmup, Duration measure, int reps, List<String> jvmOpts, Path out,
                           int clientLoops, int floorLoops) {
    }

    /**
     * A server under test: a runner (two confs on one socket) or the floor (one socket per shape).
     * The floor ignores conf tokens; a runner's are its own.
     */
    private record Target(String name, Process process, Path headerSocket, Path bodySocket, long noopToken, long bodyToken) {
    }

    private record Cell(int conns, int body) {
    }

    /** One measured window. */
    private record Sample(double callsPerSec, Histogram latency, double serverCpuUsPerCall, double driverCpuUsPerCall) {
    }

    private final Options opt;
    private final List<Process> started = new ArrayList<>();
    private final String loadBefore = ProcStats.loadAverage();
    private int replyLength;
    private int questionLength;

    private LoadDriver(Options opt) {
        this.opt = opt;
    }

    public static void main(String[] args) throws Exception {
        new LoadDriver(parse(args)).run();
    }

    private void run() throws Exception {
        Path dir = Files.createTempDirectory("pam-bench");
        System.err.println("logs in " + dir);
        List<Target> targets = new ArrayList<>();
        try {
            Target floor = new Target("floor", launch(dir, "floor.log", opt.jar(),
                    List.of(FloorServer.class.getName(), dir.toString(), Integer.toString(opt.floorLoops())), Map.of(), dir.resolve("floor-body.sock")),
                    dir.resolve("floor-headers.sock"), dir.resolve("floor-body.sock"), 1, 2);
            targets.add(floor);
            Map<String, String> runners = new LinkedHashMap<>();
            runners.put("runner", opt.jar().toString());
            runners.putAll(opt.baselines());
            for (var r : runners.entrySet()) {
                String[] jarAndOpts = r.getValue().split("@", 2);
                List<String> extra = jarAndOpts.length > 1 ? List.of(jarAndOpts[1].trim().split("\\s+")) : List.of();
                targets.add(startRunner(dir, r.getKey(), Path.of(jarAndOpts[0]), extra));
            }
            for (Target t : targets) {
                verify(t, t != floor);
            }
            measureAll(targets);
        } finally {
            for (Process p : started) {
                p.destroy(); // SIGTERM, as APISIX stops the runner
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    private Target startRunner(Path dir, String name, Path jar, List<String> extraJvmOpts) throws IOException, InterruptedException {
        Path sock = dir.resolve(name + ".sock");
        List<String> main = new ArrayList<>(extraJvmOpts);
        main.add("io.inferencepam.runner.cli.Main");
        main.add("run");
        Process p = launch(dir, name + ".log", jar, main,
                Map.of("APISIX_LISTEN_ADDRESS", "unix:" + sock, "PAM_CONTROL_PORT", "-1", "APISIX_CONF_EXPIRE_TIME", "3600"), sock);
        return new Target(name, p, sock, sock, prepare(sock, NOOP_KEY, BenchPluginProvider.NOOP),
                prepare(sock, BODY_KEY, BenchPluginProvider.BODY));
    }

    private void measureAll(List<Target> targets) throws Exception {
        List<Cell> cells = new ArrayList<>();
        for (int body : opt.bodies()) {
            for (int k : opt.conns()) {
                cells.add(new Cell(k, body));
            }
        }
        // JIT warm-up of every server JVM before anything is recorded; otherwise the first cells
        // measure the interpreter and C1 (per-cell warm-ups are only seconds).
        if (!opt.jvmWarmup().isZero()) {
            Duration each = opt.jvmWarmup().dividedBy(2);
            for (Target t : targets) {
                for (int body : new int[] {0, 4096}) {
                    runCell(t, new Cell(32, body), each, Duration.ofMillis(100));
                }
            }
        }
        Map<Target, Map<Cell, List<Sample>>> samples = new LinkedHashMap<>();
        targets.forEach(t -> samples.put(t, new LinkedHashMap<>()));
        for (int rep = 0; rep < opt.reps(); rep++) {
            for (Cell c : cells) {
                // A B C, then C B A: drift on a noisy machine hits every target alike.
                List<Target> order = new ArrayList<>(targets);
                if (rep % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (Target t : order) {
                    Sample s = runCell(t, c, opt.warmup(), opt.measure());
                    samples.get(t).computeIfAbsent(c, x -> new ArrayList<>()).add(s);
                    System.err.printf(Locale.ROOT, "rep %d %-6s K=%-3d body=%-5d %10.0f calls/s  p50 %7.1f µs  p99 %8.1f µs  server CPU %6.1f µs/call%n",
                            rep + 1, t.name(), c.conns(), c.body(), s.callsPerSec(), s.latency().getValueAtPercentile(50) / 1e3,
                            s.latency().getValueAtPercentile(99) / 1e3, s.serverCpuUsPerCall());
                }
            }
        }
        String table = report(cells, targets, samples);
        System.out.println(table);
        if (opt.out() != null) {
            Files.writeString(opt.out(), table);
        }
    }

    // ---- one cell -------------------------------------------------------------------------

    private Sample runCell(Target t, Cell c, Duration warmup, Duration measure) throws Exception {
        boolean body = c.body() > 0;
        byte[] request = ClientFrames.requestCall(1, body ? t.bodyToken() : t.noopToken(), c.body());
        byte[] answer = body ? ClientFrames.bodyAnswer(ClientFrames.chatBody(c.body())) : null;
        Path socket = body ? t.bodySocket() : t.headerSocket();
        List<FrameChannel> channels = new ArrayList<>();
        for (int i = 0; i < c.conns(); i++) {
            channels.add(FrameChannel.connect(socket, MAX_FRAME));
        }
        Phase phase = new Phase();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int clientThreads = opt.clientLoops() > 0 ? Math.min(opt.clientLoops(), c.conns()) : c.conns();
        Histogram[] hists = new Histogram[clientThreads];
        long[] counts = new long[clientThreads];
        Thread[] threads = opt.clientLoops() > 0
                ? EventLoopClients.start(channels.stream().map(FrameChannel::channel).toList(), clientThreads,
                        ClientFrames.direct(request), answer == null ? null : ClientFrames.direct(answer), expect(),
                        () -> phase.value, hists, counts, e -> {
                            failure.compareAndSet(null, e);
                            phase.value = Phase.STOP;
                        })
                : new Thread[clientThreads];
        for (int i = 0; i < c.conns() && opt.clientLoops() == 0; i++) {
            int idx = i;
            hists[i] = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
            threads[i] = new Thread(() -> {
                try {
                    counts[idx] = loop(channels.get(idx), ClientFrames.direct(request),
                            answer == null ? null : ClientFrames.direct(answer), phase, hists[idx]);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    phase.value = Phase.STOP;
                }
            }, "load-" + i);
            threads[i].start();
        }
        Thread.sleep(warmup.toMillis());
        long cpu0 = ProcStats.cpuNanos(t.process().pid());
        long drv0 = driverCpuNanos();
        long t0 = System.nanoTime();
        phase.value = Phase.MEASURE;
        Thread.sleep(measure.toMillis());
        phase.value = Phase.STOP;
        long t1 = System.nanoTime();
        long cpu1 = ProcStats.cpuNanos(t.process().pid());
        long drv1 = driverCpuNanos();
        for (Thread th : threads) {
            th.join(10_000);
        }
        for (FrameChannel ch : channels) {
            ch.close();
        }
        if (failure.get() != null) {
            throw new IllegalStateException(t.name() + " K=" + c.conns() + " body=" + c.body() + " failed", failure.get());
        }
        Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
        long calls = 0;
        for (int i = 0; i < clientThreads; i++) {
            all.add(hists[i]);
            calls += counts[i];
        }
        double secs = (t1 - t0) / 1e9;
        return new Sample(calls / secs, all, (cpu1 - cpu0) / 1e3 / Math.max(1, calls), (drv1 - drv0) / 1e3 / Math.max(1, calls));
    }

    private static final class Phase {
        static final int WARMUP = 0;
        static final int MEASURE = 1;
        static final int STOP = 2;
        volatile int value = WARMUP;
    }

    /** The same checks as {@link #loop}, for the event-loop clients. */
    private EventLoopClients.Expect expect() {
        return new EventLoopClients.Expect() {
            @Override
            public void question(int type, int length) throws IOException {
                if (type != ClientFrames.EXTRA_INFO || length != questionLength) {
                    throw new IOException("expected the ReqBody question, got type " + type + " of " + length + " bytes");
                }
            }

            @Override
            public void reply(int type, int length) throws IOException {
                if (type != ClientFrames.HTTP_REQ_CALL || length != replyLength) {
                    throw new IOException("expected a no-action reply of " + replyLength + " bytes, got type " + type
                            + " of " + length + " bytes (a Stop means the runtime failed the call)");
                }
            }
        };
    }

    /** One connection's closed loop. Returns the number of calls completed in the measured window. */
    private long loop(FrameChannel ch, ByteBuffer request, ByteBuffer answer, Phase phase, Histogram hist) throws IOException {
        long measured = 0;
        while (true) {
            int p = phase.value;
            if (p == Phase.STOP) {
                return measured;
            }
            long start = System.nanoTime();
            ch.write(request);
            int type = ch.read();
            if (answer != null) {
                if (type != ClientFrames.EXTRA_INFO || ch.payloadLength() != questionLength) {
                    throw new IOException("expected the ReqBody question, got type " + type + " of " + ch.payloadLength() + " bytes");
                }
                ch.write(answer);
                type = ch.read();
            }
            if (type != ClientFrames.HTTP_REQ_CALL || ch.payloadLength() != replyLength) {
                throw new IOException("expected a no-action reply of " + replyLength + " bytes, got type " + type
                        + " of " + ch.payloadLength() + " bytes (a Stop means the runtime failed the call)");
            }
            if (p == Phase.MEASURE) {
                hist.recordValue(System.nanoTime() - start);
                measured++;
            }
        }
    }

    // ---- set-up and checks ------------------------------------------------------------------

    private Process launch(Path dir, String log, Path jar, List<String> mainAndArgs, Map<String, String> env, Path waitFor)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(opt.jvmOpts());
        cmd.add("-cp");
        cmd.add(jar.toString());
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile()));
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(waitFor)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(String.join(" ", mainAndArgs) + " did not start:\n"
                        + Files.readString(dir.resolve(log)));
            }
            Thread.sleep(5);
        }
        return p;
    }

    private static long prepare(Path socket, String key, String plugin) throws IOException {
        try (FrameChannel ch = FrameChannel.connect(socket, MAX_FRAME)) {
            ch.write(ClientFrames.direct(ClientFrames.prepareConf(key, plugin, "{}")));
            int type = ch.read();
            if (type != ClientFrames.PREPARE_CONF) {
                throw new IllegalStateException("PrepareConf for " + plugin + " refused (type " + type
                        + "): is the benchmarks jar's BenchPluginProvider on the runner's class path?");
            }
            return io.github.api7.A6.PrepareConf.Resp.getRootAsResp(ch.payload()).confToken();
        }
    }

    /** One call of each shape, fully decoded: the no-op reply must be action NONE, the question a ReqBody. */
    private void verify(Target t, boolean isRunner) throws IOException {
        try (FrameChannel ch = FrameChannel.connect(t.headerSocket(), MAX_FRAME)) {
            ch.write(ClientFrames.direct(ClientFrames.requestCall(42, t.noopToken(), 0)));
            int len = checkNoAction(t, ch, ch.read(), isRunner);
            if (replyLength == 0) {
                replyLength = len;
            } else if (len != replyLength) {
                throw new IllegalStateException(t.name() + " reply is " + len + " bytes, expected " + replyLength);
            }
        }
        try (FrameChannel ch = FrameChannel.connect(t.bodySocket(), MAX_FRAME)) {
            ch.write(ClientFrames.direct(ClientFrames.requestCall(42, t.bodyToken(), 4096)));
            int type = ch.read();
            var q = io.github.api7.A6.ExtraInfo.Req.getRootAsReq(ch.payload());
            if (type != ClientFrames.EXTRA_INFO || q.infoType() != io.github.api7.A6.ExtraInfo.Info.ReqBody) {
                throw new IllegalStateException(t.name() + ": expected a ReqBody question, got type " + type);
            }
            if (questionLength == 0) {
                questionLength = ch.payloadLength();
            } else if (ch.payloadLength() != questionLength) {
                throw new IllegalStateException(t.name() + " question is " + ch.payloadLength() + " bytes, expected " + questionLength);
            }
            ch.write(ClientFrames.direct(ClientFrames.bodyAnswer(ClientFrames.chatBody(4096))));
            int len = checkNoAction(t, ch, ch.read(), isRunner);
            if (len != replyLength) {
                throw new IllegalStateException(t.name() + ": body reply is " + len + " bytes, header reply " + replyLength);
            }
        }
    }

    private static int checkNoAction(Target t, FrameChannel ch, int type, boolean checkId) {
        if (type != ClientFrames.HTTP_REQ_CALL) {
            throw new IllegalStateException(t.name() + ": expected HTTP_REQ_CALL reply, got type " + type);
        }
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(ch.payload());
        if (resp.actionType() != io.github.api7.A6.HTTPReqCall.Action.NONE || (checkId && resp.id() != 42)) {
            throw new IllegalStateException(t.name() + ": expected action NONE for id 42, got action "
                    + resp.actionType() + " id " + resp.id());
        }
        return ch.payloadLength();
    }



    private static long driverCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    // ---- report -----------------------------------------------------------------------------

    private String report(List<Cell> cells, List<Target> targets, Map<Target, Map<Cell, List<Sample>>> samples) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Load driver: %d rep(s) × (%ds warm-up + %ds measured) per cell and target, targets interleaved; "
                        + "%ds JIT warm-up per server first; %d CPUs; %s %s; server JVM options: %s; load average (1/5/15 min) at start %s, at end %s%n%n",
                opt.reps(), opt.warmup().toSeconds(), opt.measure().toSeconds(), opt.jvmWarmup().toSeconds(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name"), System.getProperty("java.version"),
                opt.jvmOpts().isEmpty() ? "(defaults)" : String.join(" ", opt.jvmOpts()), loadBefore, ProcStats.loadAverage()));
        sb.append(String.format(Locale.ROOT, "Clients: %s. Floor: %s.%n%n",
                opt.clientLoops() > 0 ? opt.clientLoops() + " event-loop thread(s) multiplexing the K connections (like nginx workers)"
                        : "one blocking thread per connection",
                opt.floorLoops() > 0 ? opt.floorLoops() + " event-loop thread(s)" : "one blocking thread per connection"));
        sb.append("| K conns | body | target | calls/s median (min–max) | ÷ floor, median of paired reps (min–max) "
                + "| p50 µs | p99 µs | server CPU µs/call | driver CPU µs/call |\n");
        sb.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
        Target floor = targets.get(0);
        for (Cell c : cells) {
            List<Sample> f = samples.get(floor).get(c);
            for (Target t : targets) {
                List<Sample> r = samples.get(t).get(c);
                String ratio = "—";
                if (t != floor) {
                    double[] ratios = new double[r.size()];
                    for (int i = 0; i < r.size(); i++) {
                        ratios[i] = r.get(i).callsPerSec() / f.get(i).callsPerSec();
                    }
                    ratio = String.format(Locale.ROOT, "**%.2f** (%.2f–%.2f)", median(ratios), min(ratios), max(ratios));
                }
                Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
                r.forEach(x -> h.add(x.latency()));
                sb.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %.1f | %.1f | %.1f | %.1f |%n",
                        c.conns(), bodyName(c.body()), t.name(), rate(r), ratio,
                        h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                        median(r.stream().mapToDouble(Sample::serverCpuUsPerCall).toArray()),
                        median(r.stream().mapToDouble(Sample::driverCpuUsPerCall).toArray())));
            }
        }
        sb.append("\np50/p99: merged HdrHistogram of all repetitions (closed loop: latency at the achieved rate, "
                + "no coordinated-omission correction). Server CPU: utime+stime of the server process over the measured "
                + "window (10 ms tick resolution) ÷ calls; driver CPU: the load driver's own process CPU ÷ calls.\n");
        return sb.toString();
    }

    private static String bodyName(int body) {
        return body == 0 ? "headers only" : body % 1024 == 0 ? (body / 1024) + " KiB" : body + " B";
    }

    private static String rate(List<Sample> s) {
        double[] v = s.stream().mapToDouble(Sample::callsPerSec).toArray();
        return String.format(Locale.ROOT, "%,.0f (%,.0f–%,.0f)", median(v), min(v), max(v));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    // ---- options ----------------------------------------------------------------------------

    private static Options parse(String[] args) throws Exception {
        Path jar = Path.of(LoadDriver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<Integer> conns = List.of(1, 32, 128);
        List<Integer> bodies = List.of(0, 4096, 65536);
        Duration jvmWarmup = Duration.ofSeconds(20);
        Duration warmup = Duration.ofSeconds(2);
        Duration measure = Duration.ofSeconds(3);
        int reps = 3;
        int clientLoops = 0;
        int floorLoops = 0;
        List<String> jvm = List.of("-Xms512m", "-Xmx512m");
        Map<String, String> baselines = new LinkedHashMap<>();
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--jar" -> jar = Path.of(v);
                case "--baseline" -> {
                    // name=path/to/benchmarks.jar[@extra JVM options]: another build (or the same build with other
                    // JVM options) started as a second runner and measured side by side
                    int eq = v.indexOf('=');
                    baselines.put(v.substring(0, eq), v.substring(eq + 1));
                }
                case "--conns" -> conns = ints(v);
                case "--bodies" -> bodies = ints(v);
                case "--jvm-warmup" -> jvmWarmup = Duration.ofSeconds(Long.parseLong(v));
                case "--warmup" -> warmup = Duration.ofSeconds(Long.parseLong(v));
                case "--measure" -> measure = Duration.ofSeconds(Long.parseLong(v));
                case "--reps" -> reps = Integer.parseInt(v);
                case "--client-loops" -> clientLoops = Integer.parseInt(v);
                case "--floor-loops" -> floorLoops = Integer.parseInt(v);
                case "--jvm-opts" -> jvm = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
                case "--out" -> out = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
            i++;
        }
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("--jar: the benchmarks uber jar is needed to launch the runner, got " + jar);
        }
        return new Options(jar, baselines, conns, bodies, jvmWarmup, warmup, measure, reps, jvm, out, clientLoops, floorLoops);
    }

    private static List<Integer> ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).map(Integer::valueOf).toList();
    }
}
