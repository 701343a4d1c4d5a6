package io.inferencepam.bench.runner;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.inferencepam.bench.ProcStats;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RedisServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runner CPU per call of real PAM routes (issue 15), through the APISIX-faithful driver
 * ({@link ApisixDriver}: pre-req, upstream call, post-resp, every ExtraInfo question answered as
 * APISIX 3.18 does) against real runner processes, a real redis-server (pam-record's sink), a
 * loopback OIDC issuer (JWKS over HTTP) and a canned upstream.
 *
 * <p>Routes: {@code noop} (pre-req {@code bench-noop}), {@code auth} (pre-req {@code pam-auth},
 * the token verified once and cached from then on), {@code chain} (pre-req pam-record, pam-auth,
 * pam-mask; post-resp pam-mask, pam-record) with a 2 KiB chat request and a 2 KiB completion
 * that carries one e-mail address to mask; and the protocol shapes of the plugin routes
 * ({@code auth-shape}, {@code auth-shape-inline}, {@code chain-shape}: {@link BenchPluginProvider}'s
 * shape plugins in the same places, asking the same questions and answering alike without the
 * plugins' work), so that route − shape in the same run is the plugins' own CPU. Each runner (this build, and {@code --baseline
 * name=jar} for another build in the same run) is measured route by route in interleaved slices
 * (A B, then B A): {@code C} client threads in a closed loop, each doing one gateway call at a
 * time as an nginx worker's request does. By default each client speaks the protocol only
 * ({@link LeanGateway}: the same frames and ExtraInfo answers, without HTTP and upstream, which on
 * 2 cores starve the runner of load); {@code --client driver} runs the whole {@link ApisixDriver}.
 * Every call is checked (no Stop; in the chain, the e-mail masked). CPU is utime+stime of the whole runner process (all its
 * threads) over the measured window ÷ calls; RSS is read from /proc at the end of each slice.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.inferencepam.bench.runner.ChainCpuBench
 * [--baseline before=/tmp/old.jar] [--routes noop,auth,auth-shape,auth-shape-inline,chain,chain-shape] [--clients 8] [--reps 3] [--warmup 3]
 * [--measure 5] [--jvm-warmup 20] [--jvm-opts "-Xmx512m"] [--threads true] [--client lean|driver]
 * [--runner-env K=V,...] [--out file.md]}
 */
public final class ChainCpuBench {
    private static final String AUDIENCE = "inference-gateway";
    private static final String MODEL = "llama-3-70b-instruct";

    /** {@code lean}: per route, the protocol-only gateway ({@link LeanGateway}) used unless {@code --client driver}. */
    private record Runner(String name, Process process, ApisixDriver driver, Map<String, LeanGateway> lean) {
    }

    private record Sample(double callsPerSec, double cpuUsPerCall, long rss, Map<String, Long> threadCpu, long calls,
                          double questionsPerCall, double roundTripsPerCall) {
    }

    /**
     * Each plugin route and its protocol shape ({@link BenchPluginProvider}): the same ExtraInfo
     * questions and the same kind of answer, no work. Route minus shape, same run, is the plugins'
     * own CPU; the shape is the floor any plugin with these needs pays (runtime, protocol, hand-offs).
     */
    private static final Map<String, String> SHAPE_OF = Map.of("auth", "auth-shape", "chain", "chain-shape");

    private final Map<String, String> opt;
    private final List<Process> started = new ArrayList<>();

    private ChainCpuBench(Map<String, String> opt) {
        this.opt = opt;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.merge(args[i].replaceFirst("^--", ""), args[i + 1], (a, b) -> a + "," + b);
        }
        ChainCpuBench bench = new ChainCpuBench(opt);
        // a benchmark stopped by a timeout must not leave runner processes behind
        Runtime.getRuntime().addShutdownHook(new Thread(() -> bench.started.forEach(Process::destroy)));
        bench.run();
    }

    private void run() throws Exception {
        String loadBefore = ProcStats.loadAverage();
        RSAKey key = new RSAKeyGenerator(2048).keyID("bench-1").generate();
        HttpServer idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        String issuer = "http://127.0.0.1:" + idp.getAddress().getPort() + "/realms/bench";
        byte[] jwks = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        idp.createContext("/realms/bench/certs", ex -> {
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, jwks.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(jwks);
            }
        });
        idp.start();
        String token = token(key, issuer);
        String authConf = "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/certs\",\"audiences\":[\"" + AUDIENCE
                + "\"],\"entitlements\":[{\"id\":\"ml\",\"groups\":[\"ml-engineers\"],\"allow\":[\"llama-3-*\"]}]}";
        Map<String, RouteConf> routes = new LinkedHashMap<>();
        routes.put("noop", RouteConf.builder("bench-noop").preReq(new ConfEntry(BenchPluginProvider.NOOP, "{}")).build());
        routes.put("auth", RouteConf.builder("bench-auth").preReq(new ConfEntry("pam-auth", authConf)).build());
        routes.put("chain", RouteConf.builder("bench-chain")
                .preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("pam-auth", authConf), new ConfEntry("pam-mask", "{}"))
                .postResp(new ConfEntry("pam-mask", "{}"), new ConfEntry("pam-record", "{}")).build());
        routes.put("auth-shape", RouteConf.builder("bench-auth-shape").preReq(new ConfEntry(BenchPluginProvider.AUTH_SHAPE, "{}")).build());
        routes.put("auth-shape-inline", RouteConf.builder("bench-auth-shape-inline")
                .preReq(new ConfEntry(BenchPluginProvider.AUTH_SHAPE_INLINE, "{}")).build());
        routes.put("chain-shape", RouteConf.builder("bench-chain-shape")
                .preReq(new ConfEntry(BenchPluginProvider.RECORD_SHAPE, "{}"), new ConfEntry(BenchPluginProvider.AUTH_SHAPE, "{}"),
                        new ConfEntry(BenchPluginProvider.MASK_SHAPE, "{}"))
                .postResp(new ConfEntry(BenchPluginProvider.MASK_SHAPE, "{}"), new ConfEntry(BenchPluginProvider.RECORD_SHAPE, "{}"))
                .build());
        List<String> wanted = List.of(opt.getOrDefault("routes", "noop,auth,auth-shape,auth-shape-inline,chain,chain-shape").split(","));
        Map<String, RouteConf> all = new LinkedHashMap<>(routes);
        routes.clear();
        for (String w : List.of("noop", "auth", "auth-shape", "auth-shape-inline", "chain", "chain-shape")) {
            if (wanted.contains(w)) {
                routes.put(w, all.get(w)); // each route next to its shape, so their slices run back to back
            }
        }
        ClientRequest request = request(token, 2048);
        try (RedisServer redis = RedisServer.start(); EchoUpstream upstream = EchoUpstream.start()) {
            upstream.respondAlways(EchoUpstream.Response.of(200, List.of(new HttpHeader("Content-Type", "application/json")),
                    completion(2048)));
            Path dir = Files.createTempDirectory("pam-chain-bench");
            System.err.println("logs in " + dir);
            Map<String, Path> jars = new LinkedHashMap<>();
            jars.put("runner", opt.containsKey("jar") ? Path.of(opt.get("jar"))
                    : Path.of(ChainCpuBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
            if (opt.containsKey("baseline")) {
                for (String b : opt.get("baseline").split(",")) {
                    int eq = b.indexOf('=');
                    jars.put(b.substring(0, eq), Path.of(b.substring(eq + 1)));
                }
            }
            List<Runner> runners = new ArrayList<>();
            try {
                for (var j : jars.entrySet()) {
                    runners.add(start(dir, j.getKey(), j.getValue(), redis.url()));
                }
                for (Runner r : runners) {
                    Map<String, GatewayResult> checked = new LinkedHashMap<>();
                    for (var route : routes.entrySet()) {
                        if (route.getKey().contains("shape") && !knowsShapes(jars.get(r.name()))) {
                            System.err.println(r.name() + ": no shape plugins in its jar, route " + route.getKey() + " skipped");
                            continue;
                        }
                        checked.put(route.getKey(), check(r, route.getKey(), route.getValue(), request, upstream));
                        sameQuestions(r.name(), route.getKey(), checked);
                        r.lean().put(route.getValue().id(), new LeanGateway(r.driver().socket(), route.getValue(), request,
                                completion(2048), List.of(new HttpHeader("Content-Type", "application/json"),
                                new HttpHeader("Content-Length", Integer.toString(completion(2048).length))),
                                route.getKey().equals("chain") ? "jane.doe@example.com" : null));
                    }
                }
                measure(runners, routes, request, upstream, loadBefore);
            } finally {
                for (Runner r : runners) {
                    r.driver().close();
                }
                for (Process p : started) {
                    p.destroy();
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
                idp.stop(0);
            }
        }
    }

    private void measure(List<Runner> runners, Map<String, RouteConf> routes, ClientRequest request, EchoUpstream upstream,
                         String loadBefore) throws Exception {
        int clients = Integer.parseInt(opt.getOrDefault("clients", "8"));
        int reps = Integer.parseInt(opt.getOrDefault("reps", "3"));
        long warmup = Long.parseLong(opt.getOrDefault("warmup", "3"));
        long seconds = Long.parseLong(opt.getOrDefault("measure", "5"));
        long jvmWarmup = Long.parseLong(opt.getOrDefault("jvm-warmup", "20"));
        for (Runner r : runners) {
            for (RouteConf route : routes.values()) {
                if (!r.lean().containsKey(route.id()) && lean()) {
                    continue;
                }
                slice(r, route, request, upstream, clients, jvmWarmup * 1000 / routes.size(), 100, lean());
            }
        }
        Map<String, Map<String, List<Sample>>> samples = new LinkedHashMap<>();
        for (int rep = 0; rep < reps; rep++) {
            for (var route : routes.entrySet()) {
                List<Runner> order = new ArrayList<>(runners);
                if (rep % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (Runner r : order) {
                    if (!r.lean().containsKey(route.getValue().id()) && lean()) {
                        continue;
                    }
                    Sample s = slice(r, route.getValue(), request, upstream, clients, warmup * 1000, seconds * 1000, lean());
                    samples.computeIfAbsent(route.getKey(), k -> new LinkedHashMap<>()).computeIfAbsent(r.name(), k -> new ArrayList<>()).add(s);
                    System.err.printf(Locale.ROOT, "rep %d %-5s %-8s %8.0f calls/s  runner CPU %6.1f µs/call  RSS %4d MB  ExtraInfo %.1f questions, %.1f round trips/call%n",
                            rep + 1, route.getKey(), r.name(), s.callsPerSec(), s.cpuUsPerCall(), s.rss() >> 20, s.questionsPerCall(),
                            s.roundTripsPerCall());
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "ChainCpuBench: %d rep(s) × (%ds warm-up + %ds measured) per route and runner, runners interleaved; "
                        + "%ds JIT warm-up per runner first; %d client threads (%s); %d CPUs; %s %s; runner JVM options: %s; load average at start %s, at end %s%n%n",
                reps, warmup, seconds, jvmWarmup, clients, lean() ? "protocol-only gateway, one connection each" : "ApisixDriver with upstream", Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"),
                System.getProperty("java.version"), String.join(" ", jvmOpts()), loadBefore, ProcStats.loadAverage()));
        sb.append("| route | runner | calls/s median (min–max) | runner CPU µs/call median (min–max) | ÷ first runner (paired median) | without JIT compiler threads µs/call | ExtraInfo questions/call | ExtraInfo round trips/call | RSS MB (max) | peak RSS MB |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var route : samples.entrySet()) {
            List<Sample> first = route.getValue().values().iterator().next();
            for (var r : route.getValue().entrySet()) {
                List<Sample> s = r.getValue();
                double[] cpu = s.stream().mapToDouble(Sample::cpuUsPerCall).toArray();
                double[] rate = s.stream().mapToDouble(Sample::callsPerSec).toArray();
                double[] ratio = new double[s.size()];
                for (int i = 0; i < s.size(); i++) {
                    ratio[i] = s.get(i).cpuUsPerCall() / first.get(i).cpuUsPerCall();
                }
                sb.append(String.format(Locale.ROOT, "| %s | %s | %,.0f (%,.0f–%,.0f) | **%.1f** (%.1f–%.1f) | %.2f | %.1f | %.1f | %.1f | %d | %d |%n",
                        route.getKey(), r.getKey(), median(rate), min(rate), max(rate), median(cpu), min(cpu), max(cpu), median(ratio),
                        median(s.stream().mapToDouble(ChainCpuBench::withoutCompiler).toArray()),
                        s.get(s.size() - 1).questionsPerCall(), s.get(s.size() - 1).roundTripsPerCall(),
                        s.stream().mapToLong(Sample::rss).max().orElse(0) >> 20,
                        ProcStats.rssBytes(runners.stream().filter(x -> x.name().equals(r.getKey())).findFirst().orElseThrow().process().pid(), true) >> 20));
            }
        }
        beyondShape(sb, samples);
        if (Boolean.parseBoolean(opt.getOrDefault("threads", "true"))) {
            sb.append("\nRunner CPU µs/call by thread group (all repetitions):\n\n");
            for (var route : samples.entrySet()) {
                for (var r : route.getValue().entrySet()) {
                    Map<String, Long> sum = new TreeMap<>();
                    long calls = 0;
                    for (Sample s : r.getValue()) {
                        s.threadCpu().forEach((k, v) -> sum.merge(k, v, Long::sum));
                        calls += s.calls();
                    }
                    long n = Math.max(1, calls);
                    StringBuilder line = new StringBuilder();
                    sum.entrySet().stream().filter(e -> e.getValue() > 0).sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                            .forEach(e -> line.append(String.format(Locale.ROOT, " %s %.1f;", e.getKey(), e.getValue() / 1e3 / n)));
                    sb.append("- ").append(route.getKey()).append(' ').append(r.getKey()).append(':').append(line).append('\n');
                }
            }
        }
        System.out.println(sb);
        if (opt.containsKey("out")) {
            Files.writeString(Path.of(opt.get("out")), sb);
        }
    }

    /**
     * For each route measured with its shape on the same runner: route − shape per repetition (the
     * slices of one repetition run back to back), the median and spread, and the same by thread group.
     */
    private static void beyondShape(StringBuilder sb, Map<String, Map<String, List<Sample>>> samples) {
        boolean header = false;
        for (var e : SHAPE_OF.entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
            Map<String, List<Sample>> route = samples.get(e.getKey());
            Map<String, List<Sample>> shape = samples.get(e.getValue());
            if (route == null || shape == null) {
                continue;
            }
            for (var r : route.entrySet()) {
                List<Sample> sh = shape.get(r.getKey());
                if (sh == null) {
                    continue;
                }
                if (!header) {
                    sb.append("\nPlugins' own CPU = route − its protocol shape, same runner, same run (µs/call; per repetition, median (min–max)):\n\n");
                    sb.append("| route | runner | route | shape (floor) | route − shape | route − shape without JIT compiler threads | event loop route / shape | plugin threads route / shape | other threads route − shape |\n");
                    sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
                    header = true;
                }
                int n = Math.min(r.getValue().size(), sh.size());
                double[] diff = new double[n];
                double[] diffNoJit = new double[n];
                for (int i = 0; i < n; i++) {
                    diff[i] = r.getValue().get(i).cpuUsPerCall() - sh.get(i).cpuUsPerCall();
                    diffNoJit[i] = withoutCompiler(r.getValue().get(i)) - withoutCompiler(sh.get(i));
                }
                double[] a = r.getValue().stream().mapToDouble(Sample::cpuUsPerCall).toArray();
                double[] b = sh.stream().mapToDouble(Sample::cpuUsPerCall).toArray();
                double loopA = group(r.getValue(), "pam-io"), loopB = group(sh, "pam-io");
                double plA = group(r.getValue(), "pam-plugin"), plB = group(sh, "pam-plugin");
                double otherA = group(r.getValue(), "") - loopA - plA, otherB = group(sh, "") - loopB - plB;
                sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f | **%.1f** (%.1f–%.1f) | %.1f (%.1f–%.1f) | %.1f / %.1f | %.1f / %.1f | %.1f |%n",
                        e.getKey(), r.getKey(), median(a), median(b), median(diff), min(diff), max(diff), median(diffNoJit),
                        min(diffNoJit), max(diffNoJit), loopA, loopB, plA, plB,
                        otherA - otherB));
            }
        }
    }

    /** CPU µs per call of the threads whose name starts with {@code prefix}, over all repetitions. */
    private static double group(List<Sample> samples, String prefix) {
        long cpu = 0;
        long calls = 0;
        for (Sample s : samples) {
            cpu += s.threadCpu().entrySet().stream().filter(t -> t.getKey().startsWith(prefix)).mapToLong(Map.Entry::getValue).sum();
            calls += s.calls();
        }
        return cpu / 1e3 / Math.max(1, calls);
    }

    /** Whether {@code jar} carries this build's shape plugins (an older baseline does not). */
    private static boolean knowsShapes(Path jar) throws IOException {
        try (java.util.jar.JarFile j = new java.util.jar.JarFile(jar.toFile())) {
            String cls = BenchPluginProvider.class.getName().replace('.', '/') + "$AuthShape.class";
            return j.getEntry(cls) != null;
        }
    }

    /**
     * CPU per call minus the JIT compiler threads': on a loaded 2-core box C2 is still compiling
     * after the warm-up, and its share swings from run to run more than the calls' own work.
     */
    private static double withoutCompiler(Sample s) {
        long compiler = s.threadCpu().entrySet().stream().filter(e -> e.getKey().contains("CompilerThre"))
                .mapToLong(Map.Entry::getValue).sum();
        return s.cpuUsPerCall() - compiler / 1e3 / Math.max(1, s.calls());
    }

    private boolean lean() {
        return !opt.getOrDefault("client", "lean").equals("driver");
    }

    private static Sample slice(Runner r, RouteConf route, ClientRequest request, EchoUpstream upstream, int clients,
                                long warmupMillis, long measureMillis, boolean lean) throws Exception {
        AtomicLong calls = new AtomicLong();
        AtomicLong questions = new AtomicLong();
        AtomicLong roundTrips = new AtomicLong();
        LeanGateway gw = r.lean().get(route.id());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger phase = new java.util.concurrent.atomic.AtomicInteger(); // 0 warm-up, 1 measured, 2 stop
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Thread t = new Thread(() -> {
                try (io.inferencepam.driver.RunnerConnection conn = lean ? gw.connect() : null) {
                    while (phase.get() < 2) {
                        int p = phase.get();
                        LeanGateway.Asked q = null;
                        if (lean) {
                            q = gw.call(conn);
                        } else {
                            GatewayResult res = r.driver().call(route, request, upstream);
                            if (res.status() != 200) {
                                throw new IllegalStateException(route.id() + ": status " + res.status() + " " + res.bodyUtf8());
                            }
                        }
                        if (p == 1 && phase.get() == 1) {
                            calls.incrementAndGet();
                            if (q != null) {
                                questions.addAndGet(q.questions());
                                roundTrips.addAndGet(q.roundTrips());
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    phase.set(2);
                }
            }, "client-" + i);
            t.start();
            threads.add(t);
        }
        Thread.sleep(warmupMillis);
        upstream.clear(); // the upstream keeps every request it saw: drop them between windows
        long pid = r.process().pid();
        long cpu0 = ProcStats.cpuNanos(pid);
        Map<String, Long> th0 = ProcStats.threadCpuNanos(pid);
        long t0 = System.nanoTime();
        phase.set(1);
        Thread.sleep(measureMillis);
        phase.set(2);
        long t1 = System.nanoTime();
        long cpu1 = ProcStats.cpuNanos(pid);
        Map<String, Long> th1 = ProcStats.threadCpuNanos(pid);
        long rss = ProcStats.rssBytes(pid, false);
        for (Thread t : threads) {
            t.join(70_000);
        }
        upstream.clear();
        if (failure.get() != null) {
            throw new IllegalStateException(r.name() + " " + route.id() + " failed", failure.get());
        }
        Map<String, Long> th = new TreeMap<>();
        th1.forEach((k, v) -> th.put(k, v - th0.getOrDefault(k, 0L)));
        long n = Math.max(1, calls.get());
        return new Sample(calls.get() / ((t1 - t0) / 1e9), (cpu1 - cpu0) / 1e3 / n, rss, th, calls.get(),
                lean ? (double) questions.get() / n : Double.NaN, lean ? (double) roundTrips.get() / n : Double.NaN);
    }

    /**
     * A shape is only a floor if it asks what its route asks: the same ExtraInfo questions in each
     * phase (as a set: the runtime may order a batch differently) and the same round trips. Checked
     * on the first call of each, through the whole driver; a difference stops the run.
     */
    private static void sameQuestions(String runner, String name, Map<String, GatewayResult> checked) {
        String route = SHAPE_OF.entrySet().stream().filter(e -> name.startsWith(e.getValue())).map(Map.Entry::getKey)
                .findFirst().orElse(null);
        if (route == null || !checked.containsKey(route)) {
            return;
        }
        GatewayResult a = checked.get(route);
        GatewayResult b = checked.get(name);
        for (int type : new int[] {io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL, io.inferencepam.driver.A6Client.RPC_HTTP_RESP_CALL}) {
            List<String> qa = new ArrayList<>(a.extraInfoAsked(type));
            List<String> qb = new ArrayList<>(b.extraInfoAsked(type));
            java.util.Collections.sort(qa);
            java.util.Collections.sort(qb);
            if (!qa.equals(qb) || a.extraInfoRoundTrips(type) != b.extraInfoRoundTrips(type)) {
                throw new IllegalStateException(runner + ": " + name + " is not " + route + "'s shape: call type " + type + " asks "
                        + qb + " in " + b.extraInfoRoundTrips(type) + " round trip(s), " + route + " asks " + qa + " in "
                        + a.extraInfoRoundTrips(type));
            }
        }
    }

    /** One call of each route, its result checked: 200, and in the chain the e-mail masked. */
    private static GatewayResult check(Runner r, String name, RouteConf route, ClientRequest request, EchoUpstream upstream)
            throws InterruptedException {
        GatewayResult res = r.driver().call(route, request, upstream);
        for (int i = 0; i < 5 && res.status() == 503; i++) {
            // a cold runner on a loaded machine can miss the PrepareConf deadline (JWKS load): APISIX retries on the next call too
            Thread.sleep(1000);
            res = r.driver().call(route, request, upstream);
        }
        if (res.status() != 200 || (name.equals("chain") && res.bodyUtf8().contains("jane.doe@example.com"))) {
            throw new IllegalStateException(r.name() + " " + name + ": unexpected result " + res);
        }
        return res;
    }

    private List<String> jvmOpts() {
        String v = opt.getOrDefault("jvm-opts", "-Xmx512m");
        return v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
    }

    /**
     * {@code --runner-env K=V,K2=V2}: settings given to every runner of the run, e.g.
     * {@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ=true} (a build that does not know a setting ignores it).
     */
    private Map<String, String> runnerEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        String v = opt.getOrDefault("runner-env", "");
        for (String kv : v.isBlank() ? new String[0] : v.split(",")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--runner-env takes K=V[,K=V...]: " + kv);
            }
            env.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return env;
    }

    private Runner start(Path dir, String name, Path jar, String redisUrl) throws IOException, InterruptedException {
        Path sock = dir.resolve(name + ".sock");
        Path spool = Files.createTempDirectory(dir, name + "-spool");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOpts());
        cmd.addAll(List.of("-cp", jar.toString(), "io.inferencepam.runner.cli.Main", "run"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
        pb.environment().putAll(Map.of("APISIX_LISTEN_ADDRESS", "unix:" + sock, "APISIX_CONF_EXPIRE_TIME", "3600",
                "PAM_CONTROL_PORT", "-1", "PAM_REDIS_URL", redisUrl, "PAM_AUDIT_SPOOL_DIR", spool.toString(),
                "PAM_AUDIT_INSTANCE_ID", name));
        pb.environment().putAll(runnerEnv());
        Process p = pb.start();
        started.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); // a loaded 2-core machine starts a JVM slowly
        while (!Files.exists(sock)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " did not start:\n" + Files.readString(dir.resolve(name + ".log")));
            }
            Thread.sleep(5);
        }
        return new Runner(name, p, new ApisixDriver(sock), new java.util.HashMap<>());
    }

    private static String token(RSAKey key, String issuer) throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).subject("6f1c2a0e-8f7b-4c1e-9a55-1d2f3e4a5b6c")
                .audience(AUDIENCE).expirationTime(Date.from(now.plusSeconds(6 * 3600))).issueTime(Date.from(now))
                .claim("preferred_username", "bob").claim("groups", List.of("ml-engineers", "default-roles-ai"))
                .claim("azp", "notebook").claim("scope", "openid profile email").build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** What the OpenAI Python SDK sends, with a chat body of about {@code size} bytes. */
    static ClientRequest request(String token, int size) {
        StringBuilder content = new StringBuilder();
        while (content.length() < size - 120) {
            content.append("Summarise the quarterly figures for the northern region in three bullet points. ");
        }
        String body = "{\"model\":\"" + MODEL + "\",\"max_tokens\":512,\"messages\":[{\"role\":\"user\",\"content\":\""
                + content.substring(0, size - 120) + "\"}]}";
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "ai-gw.example.com")
                .header("Accept-Encoding", "gzip, deflate").header("Connection", "keep-alive").header("Accept", "application/json")
                .header("Content-Type", "application/json").header("User-Agent", "OpenAI/Python 1.54.0")
                .header("X-Stainless-Lang", "python").header("X-Stainless-Package-Version", "1.54.0")
                .header("X-Stainless-OS", "Linux").header("X-Stainless-Arch", "x64").header("X-Stainless-Runtime", "CPython")
                .header("X-Stainless-Runtime-Version", "3.12.3").header("Authorization", "Bearer " + token)
                .header("X-Stainless-Async", "false").header("X-Stainless-Retry-Count", "0")
                .body(body).remoteAddr("10.0.0.7").build();
    }

    /** A chat completion of about {@code size} bytes with one e-mail address in it. */
    static byte[] completion(int size) {
        StringBuilder content = new StringBuilder("Contact jane.doe@example.com for the raw data. ");
        while (content.length() < size - 300) {
            content.append("Northern region revenue grew by four percent, driven by renewals. ");
        }
        String body = "{\"id\":\"chatcmpl-9f2c\",\"object\":\"chat.completion\",\"created\":1733572800,\"model\":\"" + MODEL
                + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content.substring(0, size - 300)
                + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":412,\"completion_tokens\":388,\"total_tokens\":800}}";
        return body.getBytes(StandardCharsets.UTF_8);
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
}
