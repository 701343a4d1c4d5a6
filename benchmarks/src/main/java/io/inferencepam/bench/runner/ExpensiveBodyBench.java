package io.inferencepam.bench.runner;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Do cheap calls wait behind expensive ones (issue 10 item 6)? Against the real runner process:
 * {@code C} connections send cheap calls (256-byte body) in a closed loop with a short pause, while
 * {@code K} connections send large bodies in a closed loop; every call runs {@code bench-burn},
 * which spins {@code ns_per_byte} per body byte on its plugin thread (the CPU shape of a bounded
 * scan of the body). The cheap calls' latency with K = 0 is the same-run baseline.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.inferencepam.bench.runner.ExpensiveBodyBench
 * [--ns-per-byte 20] [--big 1048576] [--cheap 4] [--expensive 0,1,2,4] [--seconds 8] [--env K=V,...]}
 */
public final class ExpensiveBodyBench {
    private static final Duration T = Duration.ofSeconds(30);
    private static final byte[] IP = {127, 0, 0, 1};

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        long nsPerByte = Long.parseLong(opt.getOrDefault("ns-per-byte", "20"));
        int big = Integer.parseInt(opt.getOrDefault("big", "1048576"));
        int cheapConns = Integer.parseInt(opt.getOrDefault("cheap", "4"));
        int seconds = Integer.parseInt(opt.getOrDefault("seconds", "8"));
        List<Integer> expensive = new ArrayList<>();
        for (String k : opt.getOrDefault("expensive", "0,1,2,4").split(",")) {
            expensive.add(Integer.parseInt(k.trim()));
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PAM_CONTROL_PORT", "-1");
        if (opt.containsKey("env")) {
            for (String kv : opt.get("env").split(",")) {
                String[] p = kv.split("=", 2);
                env.put(p[0], p[1]);
            }
        }
        try (RunnerProcess runner = RunnerProcess.start(env)) {
            long token;
            try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
                c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry(BenchPluginProvider.BURN,
                        "{\"ns_per_byte\":" + nsPerByte + "}")), "route#bench-burn#ext-plugin-pre-req#1"), T);
                token = A6Client.decodePrepareReply(c.read(T).payload());
            }
            byte[] cheapAnswer = A6Client.extraInfoAnswer(new byte[256]);
            byte[] bigAnswer = A6Client.extraInfoAnswer(new byte[big]);
            System.out.printf("cores %d, bench-burn %d ns/byte: cheap call %.3f ms of plugin CPU, expensive call (%d bytes) %.1f ms; env %s%n",
                    Runtime.getRuntime().availableProcessors(), nsPerByte, 256 * nsPerByte / 1e6, big, big * nsPerByte / 1e6, env);
            System.out.println("| expensive senders | cheap calls | cheap p50 ms | cheap p90 ms | cheap p99 ms | cheap max ms | expensive calls | failed |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (int k : expensive) {
                phase(runner, token, k, cheapConns, cheapAnswer, bigAnswer, seconds);
            }
        }
    }

    private static void phase(RunnerProcess runner, long token, int k, int cheapConns, byte[] cheapAnswer, byte[] bigAnswer,
                              int seconds) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean measuring = new AtomicBoolean();
        Recorder cheap = new Recorder(3);
        AtomicLong expensiveCalls = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong ids = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            threads.add(started(() -> loop(runner, token, bigAnswer, ids, stop, failed, 0, lat -> {
                if (measuring.get()) {
                    expensiveCalls.incrementAndGet();
                }
            })));
        }
        for (int i = 0; i < cheapConns; i++) {
            threads.add(started(() -> loop(runner, token, cheapAnswer, ids, stop, failed, 2, lat -> {
                if (measuring.get()) {
                    cheap.recordValue(lat);
                }
            })));
        }
        Thread.sleep(1500); // warm-up, not recorded
        cheap.reset();
        measuring.set(true);
        Thread.sleep(seconds * 1000L);
        measuring.set(false);
        Histogram h = cheap.getIntervalHistogram();
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        System.out.printf("| %d | %d | %.2f | %.2f | %.2f | %.2f | %d | %d |%n", k, h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(90) / 1e6, h.getValueAtPercentile(99) / 1e6,
                h.getMaxValue() / 1e6, expensiveCalls.get(), failed.get());
    }

    /** Closed loop on one connection: call (body fetched by ExtraInfo), check the pass, record, pause. */
    private static void loop(RunnerProcess runner, long token, byte[] answer, AtomicLong ids, AtomicBoolean stop,
                             AtomicLong failed, long pauseMillis, java.util.function.LongConsumer latency) {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            byte[] callHead = null;
            while (!stop.get()) {
                long id = ids.incrementAndGet();
                callHead = A6Client.requestCall(id, token, IP, 0, "/v1/chat/completions", List.of(),
                        List.of(new A6Client.Entry("host", "gw.test")));
                long start = System.nanoTime();
                c.send(A6Client.RPC_HTTP_REQ_CALL, callHead, T);
                RunnerConnection.Frame q = c.read(T);
                if (q.type() != A6Client.RPC_EXTRA_INFO) {
                    throw new IllegalStateException("expected the body question, got type " + q.type());
                }
                c.send(A6Client.RPC_EXTRA_INFO, answer, T);
                RunnerConnection.Frame r = c.read(T);
                long took = System.nanoTime() - start;
                if (r.type() != A6Client.RPC_HTTP_REQ_CALL || A6Client.decodeRequestReply(r.payload()).actionType() != 0) {
                    failed.incrementAndGet();
                } else {
                    latency.accept(took);
                }
                if (pauseMillis > 0) {
                    Thread.sleep(pauseMillis);
                }
            }
        } catch (IOException | InterruptedException e) {
            failed.incrementAndGet();
        }
    }

    private static Thread started(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        return t;
    }

    private ExpensiveBodyBench() {
    }
}
