package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.UpstreamRequest;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Held live, measured on real processes: one redis-server, two runners (A holds the calls, B
 * takes the decisions through its approvals control API with a reviewer ticket, as people do).
 * <ol>
 *   <li><b>Heap and threads of 1,000 calls held live</b> on runner A: live objects after a full GC
 *       ({@code jcmd GC.class_histogram}) and thread count ({@code jcmd Thread.print}) with no call
 *       held, then with 1,000 held (goal: &lt; 50 MB, no extra thread).</li>
 *   <li><b>Approve-to-resume</b>: one call held on A at a time; the time from sending the approve
 *       request to runner B's control API to the held call's answer on A (the decision's script and
 *       publish, A's subscription, the resume script, the reply), p50/p99 over the samples
 *       (goal: p99 ≤ 50 ms).</li>
 * </ol>
 * <pre>java -cp benchmarks/target/benchmarks.jar io.inferencepam.pam.approval.ApprovalLiveBench 1000 200</pre>
 */
public final class ApprovalLiveBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "bench-control-token-0123456789";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    public static void main(String[] args) throws Exception {
        int held = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        try (RedisServer redis = RedisServer.start()) {
            Map<String, String> env = Map.of("PAM_REDIS_URL", redis.url(), "PAM_CONTROL_TOKEN", TOKEN,
                    "PAM_APPROVAL_MAX_LIVE", "5000");
            try (RunnerProcess a = RunnerProcess.start(env); RunnerProcess b = RunnerProcess.start(env);
                 ApisixDriver da = new ApisixDriver(a.socket()); ApisixDriver db = new ApisixDriver(b.socket())) {
                awaitReady(a);
                awaitReady(b);
                RouteConf data = RouteConf.builder("bench-held").preReq(
                        new ConfEntry("bench-principal", "{\"model\":\"secret-bench\"}"),
                        new ConfEntry("pam-approval", "{\"rules\":[{\"id\":\"all\",\"always\":true}],\"reviewer_groups\":[\"reviewers\"],"
                                + "\"wait_seconds\":50,\"max_live_per_principal\":100,\"max_open_per_principal\":1000}")).build();
                RouteConf review = RouteConf.builder("bench-review").preReq(
                        new ConfEntry("bench-principal", "{\"groups\":[\"reviewers\"]}"),
                        new ConfEntry("pam-approval-review", "{}")).build();
                ExecutorService clients = Executors.newCachedThreadPool(r -> {
                    Thread t = new Thread(r, "bench-client");
                    t.setDaemon(true);
                    return t;
                });
                // warm-up: the hold, decide and resume paths compiled on both runners
                resumeLatency(da, db, b, data, review, clients, 50, "warm");
                heap(a, da, db, b, data, review, clients, held);
                Histogram h = resumeLatency(da, db, b, data, review, clients, samples, "p2");
                System.out.printf("approve-to-resume across two runners, %d samples: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                        h.getTotalCount(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3,
                        h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3);
                clients.shutdownNow();
            }
        }
    }

    private static void heap(RunnerProcess a, ApisixDriver da, ApisixDriver db, RunnerProcess b, RouteConf data, RouteConf review,
                             ExecutorService clients, int n) throws Exception {
        long heap0 = liveBytes(a);
        int threads0 = threads(a);
        List<CompletableFuture<GatewayResult>> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String user = "h-" + (i % 100);
            String body = "{\"model\":\"secret-bench\",\"messages\":[{\"role\":\"user\",\"content\":\"held call " + i
                    + ": summarise the attached quarterly figures for the board, two paragraphs.\"}]}";
            calls.add(CompletableFuture.supplyAsync(() -> call(da, data, user, body), clients));
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        double live = 0;
        while (System.nanoTime() < end && (live = gauge(a, "pam_approval_live_held")) < n) {
            Thread.sleep(100);
        }
        long heap1 = liveBytes(a);
        int threads1 = threads(a);
        System.out.printf("%d calls held live on runner A (gauge %.0f): live heap %.1f MB -> %.1f MB (+%.1f MB, %.1f KB per call); "
                        + "threads %d -> %d%n", n, live, heap0 / 1e6, heap1 / 1e6, (heap1 - heap0) / 1e6,
                (heap1 - heap0) / 1e3 / n, threads0, threads1);
        // release them: approve every pending approval through B, 8 at a time
        long t0 = System.nanoTime();
        List<CompletableFuture<Void>> approvals = new ArrayList<>();
        ExecutorService reviewers = Executors.newFixedThreadPool(8);
        for (JsonNode list = operatorList(b); list.size() > 0; list = operatorList(b)) {
            for (JsonNode x : list) {
                String id = x.path("id").asText();
                approvals.add(CompletableFuture.runAsync(() -> {
                    try {
                        approve(db, b, review, id);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, reviewers));
            }
            for (CompletableFuture<Void> f : approvals) {
                f.get(60, TimeUnit.SECONDS);
            }
            approvals.clear();
        }
        reviewers.shutdown();
        int ok = 0;
        for (CompletableFuture<GatewayResult> c : calls) {
            ok += c.get(60, TimeUnit.SECONDS).status() == 200 ? 1 : 0;
        }
        System.out.printf("released: %d of %d held calls ran after approval (%d ms for all decisions)%n", ok, n,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private static Histogram resumeLatency(ApisixDriver da, ApisixDriver db, RunnerProcess b, RouteConf data, RouteConf review,
                                           ExecutorService clients, int n, String label) throws Exception {
        Histogram h = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        for (int i = 0; i < n; i++) {
            String user = label + "-" + i;
            String body = "{\"model\":\"secret-bench\",\"messages\":[{\"role\":\"user\",\"content\":\"sample " + i + "\"}]}";
            CompletableFuture<GatewayResult> c = CompletableFuture.supplyAsync(() -> call(da, data, user, body), clients);
            String id = null;
            while (id == null) {
                for (JsonNode x : operatorList(b)) {
                    if (user.equals(x.path("requester").path("username").asText())) {
                        id = x.path("id").asText();
                    }
                }
                if (id == null) {
                    Thread.sleep(5);
                }
            }
            Thread.sleep(20); // the call is held (its waiter registered) well before the decision
            String ticket = ticket(db, review);
            long t0 = System.nanoTime();
            postApprove(b, id, ticket);
            GatewayResult r = c.get(60, TimeUnit.SECONDS);
            long us = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0);
            if (r.status() != 200) {
                throw new IllegalStateException("held call answered " + r.status() + " " + r.bodyUtf8());
            }
            h.recordValue(us);
        }
        return h;
    }

    private static GatewayResult call(ApisixDriver d, RouteConf route, String user, String body) {
        return d.call(route, ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.bench")
                .header("X-Bench-User", user).header("Content-Type", "application/json").body(body).build(), null);
    }

    /** A reviewer's ticket, minted by pam-approval-review on runner B's approvals route. */
    private static String ticket(ApisixDriver db, RouteConf review) {
        GatewayResult r = db.call(review, ClientRequest.builder("POST", "/pam/approvals/x/approve").header("Host", "gw.bench")
                .header("X-Bench-User", "rita").build(), null);
        UpstreamRequest up = r.upstreamRequests().get(0);
        return up.header("x-pam-reviewer-ticket").orElseThrow();
    }

    private static void approve(ApisixDriver db, RunnerProcess b, RouteConf review, String id) throws Exception {
        postApprove(b, id, ticket(db, review));
    }

    private static void postApprove(RunnerProcess b, String id, String ticket) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.controlPort()
                        + "/v1/approvals/" + id + "/approve")).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json").header("X-PAM-Reviewer-Ticket", ticket)
                .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"bench\"}")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("approve answered " + r.statusCode() + " " + r.body());
        }
    }

    private static JsonNode operatorList(RunnerProcess b) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.controlPort()
                + "/v1/approvals?limit=500")).header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("approvals");
    }

    private static double gauge(RunnerProcess r, String name) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.controlPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        return 0;
    }

    private static void awaitReady(RunnerProcess r) throws Exception {
        for (int i = 0; i < 300; i++) {
            try {
                if (HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.controlPort() + "/readyz")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not bound yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("runner not ready");
    }

    /** Bytes of live objects after a full GC ({@code GC.class_histogram} runs one first). */
    private static long liveBytes(RunnerProcess r) throws Exception {
        String out = jcmd(r, "GC.class_histogram");
        for (String line : out.split("\n")) {
            if (line.trim().startsWith("Total")) {
                String[] f = line.trim().split("\\s+");
                return Long.parseLong(f[2]);
            }
        }
        throw new IllegalStateException("no histogram total:\n" + out);
    }

    private static int threads(RunnerProcess r) throws Exception {
        int n = 0;
        for (String line : jcmd(r, "Thread.print").split("\n")) {
            if (line.startsWith("\"")) {
                n++;
            }
        }
        return n;
    }

    private static String jcmd(RunnerProcess r, String command) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(r.process().pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    private ApprovalLiveBench() {
    }

}
