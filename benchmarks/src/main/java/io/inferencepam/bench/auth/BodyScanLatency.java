package io.inferencepam.bench.auth;

import io.inferencepam.pam.auth.ModelApi;
import io.inferencepam.pam.auth.ModelOutcome;
import io.inferencepam.pam.auth.ModelRequest;
import io.inferencepam.pam.auth.ModelResolver;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Issue 10, item 6: latency of small calls while attacker-shaped bodies arrive. A pool of plugin
 * threads shaped like the runner's ({@code PAM_PLUGIN_THREADS}, default max(2, cores)) serves an
 * open-loop stream of small chat calls (latency counted from the intended start, so a stalled pool
 * is not hidden by fewer samples) while two attackers keep one body each in flight. Phases, in one
 * run: no attacker; 16 MiB / 1.29 M keys through the previous scan; the same body through the new
 * resolver with the default limit (413); the largest body the default limit admits (8 MiB,
 * 645 k keys) through the new scan.
 *
 * <pre>java -Xms1g -Xmx1g -XX:+UseSerialGC -cp benchmarks/target/benchmarks.jar io.inferencepam.bench.auth.BodyScanLatency [seconds per phase]</pre>
 */
public final class BodyScanLatency {
    private static final ModelResolver RESOLVER = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"), false);
    private static final int CALLS_PER_SECOND = 500;

    private BodyScanLatency() {
    }

    private record Phase(String name, Supplier<Object> attack) {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        ModelRequest small = request(ScanBodies.named("chat2k"));
        ModelRequest keys16 = request(ScanBodies.named("keys16m"));
        ModelRequest keys8 = request(ScanBodies.named("keys8m"));
        byte[] keys16Bytes = ScanBodies.named("keys16m");
        List<Phase> phases = List.of(
                new Phase("no attacker", null),
                new Phase("2 × 16 MiB, 1.29 M keys, previous scan", () -> LegacyModelScan.read(keys16Bytes.clone(), List.of("model"))),
                new Phase("2 × 16 MiB, 1.29 M keys, new (default limit: 413)", () -> RESOLVER.resolve(keys16)),
                new Phase("2 × 8 MiB, 645 k keys, new scan (largest admitted)", () -> RESOLVER.resolve(keys8)));
        // JIT warm-up of both scans and the small call
        for (int i = 0; i < 3; i++) {
            LegacyModelScan.read(keys16Bytes.clone(), List.of("model"));
            RESOLVER.resolve(keys8);
        }
        for (int i = 0; i < 50_000; i++) {
            RESOLVER.resolve(small);
        }
        if (!(RESOLVER.resolve(small) instanceof ModelOutcome.Resolved)) {
            throw new IllegalStateException("the small call does not resolve");
        }
        System.out.printf(Locale.ROOT, "%d plugin threads, %d small calls/s, %d s per phase, load average before: %s%n",
                threads, CALLS_PER_SECOND, seconds, io.inferencepam.bench.ProcStats.loadAverage());
        System.out.println("| phase | small calls | p50 ms | p99 ms | p99.9 ms | max ms | attacker calls done |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Phase phase : phases) {
            run(phase, small, threads, seconds);
        }
        System.exit(0);
    }

    private static ModelRequest request(byte[] body) {
        return new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(Body.wrap(body)));
    }

    private static void run(Phase phase, ModelRequest small, int threads, int seconds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong attacks = new AtomicLong();
        List<Thread> attackers = new ArrayList<>();
        if (phase.attack() != null) {
            for (int a = 0; a < 2; a++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            pool.submit(phase.attack()::get).get();
                            attacks.incrementAndGet();
                        } catch (Exception e) {
                            return;
                        }
                    }
                }, "attacker-" + a);
                t.start();
                attackers.add(t);
            }
            Thread.sleep(200); // both attackers in flight before small calls are counted
        }
        Recorder recorder = new Recorder(3);
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
        long period = TimeUnit.SECONDS.toNanos(1) / CALLS_PER_SECOND;
        long start = System.nanoTime();
        AtomicLong issued = new AtomicLong();
        clock.scheduleAtFixedRate(() -> {
            // every call due by now, each timed from its own intended start
            long due = (System.nanoTime() - start) / period;
            while (issued.get() <= due) {
                long intended = start + issued.getAndIncrement() * period;
                pool.execute(() -> {
                    RESOLVER.resolve(small);
                    recorder.recordValue(Math.max(0, System.nanoTime() - intended));
                });
            }
        }, 0, period, TimeUnit.NANOSECONDS);
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        clock.shutdownNow();
        stop.set(true);
        pool.shutdown();
        pool.awaitTermination(2, TimeUnit.MINUTES);
        for (Thread t : attackers) {
            t.join();
        }
        Histogram h = recorder.getIntervalHistogram();
        System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.1f | %.1f | %.1f | %d |%n", phase.name(), h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6,
                h.getMaxValue() / 1e6, attacks.get());
    }
}
