package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Protocol;

/** pam-record while Redis goes away: nothing lost, order kept; fail_closed when nothing can be made durable. */
class PamRecordOutageE2ETest {

    static ClientRequest call(int i) {
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Authorization", "Bearer client-token-" + i)
                .header("Content-Type", "application/json").body("{\"model\":\"m\",\"n\":" + i + "}").remoteAddr("10.0.0.9").build();
    }

    static JsonNode waitFor(AuditFixture fx, java.util.function.Predicate<JsonNode> done) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonNode st = fx.control("/v1/audit/status");
        while (!done.test(st) && System.nanoTime() < end) {
            Thread.sleep(25);
            st = fx.control("/v1/audit/status");
        }
        return st;
    }

    @Test
    void redisStoppedMidLoadLosesNoRecordAndKeepsTheOrder() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            RouteConf route = RouteConf.builder("outage")
                    .preReq(new ConfEntry("pam-record", "{\"fail_closed\":true}"), new ConfEntry("test-pam-auth", "{}"))
                    .postResp(new ConfEntry("pam-record", "{}")).build();
            int perThread = 120;
            int threads = 4;
            ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
            AtomicInteger done = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * perThread;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        GatewayResult r = fx.driver.call(route, call(base + i), fx.upstream);
                        ids.add(r.requestId());
                        statuses.add(r.status());
                        done.incrementAndGet();
                    }
                    return null;
                }));
            }

            while (done.get() < 100) {
                Thread.sleep(5);
            }
            // Redis goes away mid-load (saving first, so what it had acknowledged survives the restart)
            try {
                fx.jedis.sendCommand(Protocol.Command.SHUTDOWN, "SAVE");
            } catch (RuntimeException expected) {
                // the connection closes under us
            }
            fx.redis.stop();
            int atStop = done.get();
            while (done.get() < atStop + 120 && done.get() < threads * perThread) {
                Thread.sleep(5);
            }
            // The audit threads run under SCHED_IDLE: while the load keeps both cores busy they may
            // not have reached the store yet, so wait for them rather than sample once.
            JsonNode during = waitFor(fx, s -> s.path("spooled").asLong() > 0);
            assertThat(during.path("store_up").asBoolean()).isFalse();
            assertThat(during.path("spooled").asLong()).isPositive();
            fx.redis.startAgain();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            // fail_closed routes kept serving: the spool made every record durable
            assertThat(statuses).hasSize(threads * perThread).containsOnly(200);

            JsonNode st = waitFor(fx, s -> s.path("pending_calls").asInt() == 0 && s.path("idle").asBoolean()
                    && s.path("submitted").asLong() >= threads * perThread);
            assertThat(st.path("idle").asBoolean()).as(st.toString()).isTrue();
            assertThat(st.path("lost").asLong()).isZero();
            assertThat(st.path("spooled").asLong()).isPositive();
            // the metric that counts spooled entries
            String metrics = fx.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                    "http://127.0.0.1:" + fx.runner.controlPort() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).containsPattern("pam_audit_entries_spooled\\S* [1-9]");

            List<StoredEntry> entries = fx.entries();
            List<String> storedIds = new ArrayList<>();
            long lastSeq = 0;
            String instance = null;
            for (StoredEntry e : entries) {
                JsonNode n = CanonicalJson.parse(e.json());
                assertThat(n.path("seq").asLong()).as("storage order is chain order").isEqualTo(lastSeq + 1);
                lastSeq = n.path("seq").asLong();
                instance = instance == null ? n.path("instance").asText() : instance;
                assertThat(n.path("instance").asText()).isEqualTo(instance);
                if ("call".equals(n.path("kind").asText())) {
                    storedIds.add(n.path("id").asText());
                }
            }
            assertThat(storedIds).as("one record per call, none lost, none twice").doesNotHaveDuplicates()
                    .hasSize(threads * perThread);
            Set<String> expected = new HashSet<>(ids);
            assertThat(new HashSet<>(storedIds)).isEqualTo(expected);
            fx.awaitCheckpointedTail(); // idle is not signed: verify flags a tail uncovered for 2 × the interval
            assertThat(PamRecordE2ETest.pamctl("audit", "verify", "--redis", fx.redis.url(), "--public-key", fx.keys[1],
                    "--complete")).satisfies(v -> assertThat(v.code()).as(v.toString()).isZero());
        }
    }

    @Test
    void failClosedRefusesBeforeTheUpstreamWhenNoRecordCanBeMadeDurable() throws Exception {
        // Redis down from the start and a spool too small for even one record.
        try (AuditFixture fx = new AuditFixture(Map.of("PAM_AUDIT_SPOOL_MAX_BYTES", "64"), false)) {
            RouteConf strict = RouteConf.builder("strict").preReq(new ConfEntry("pam-record", "{\"fail_closed\":true}"))
                    .postResp(new ConfEntry("pam-record", "{}")).build();
            RouteConf lenient = RouteConf.builder("lenient").preReq(new ConfEntry("pam-record", "{}"))
                    .postResp(new ConfEntry("pam-record", "{}")).build();
            GatewayResult first = fx.driver.call(lenient, call(1), fx.upstream);
            assertThat(first.status()).isEqualTo(200);
            JsonNode st = waitFor(fx, s -> s.path("lost").asLong() >= 1);
            assertThat(st.path("lost").asLong()).as("the loss is counted, never silent").isPositive();

            fx.upstream.clear();
            GatewayResult refused = fx.driver.call(strict, call(2), fx.upstream);
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.bodyUtf8()).contains("\"code\":\"audit_unavailable\"");
            assertThat(refused.upstreamRequests()).as("refused before the upstream is called").isEmpty();
            assertThat(fx.driver.call(lenient, call(3), fx.upstream).status()).isEqualTo(200);

            // the store comes back: the next records reach it and strict routes serve again
            fx.redis.startAgain();
            int status = 0;
            long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (status != 200 && System.nanoTime() < end) {
                status = fx.driver.call(strict, call(4), fx.upstream).status();
                Thread.sleep(100);
            }
            assertThat(status).isEqualTo(200);
        }
    }

    @Test
    void theFileSinkWritesRotatedVerifiableJsonLines() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("pam-audit-files");
        String publicKey;
        try (AuditFixture fx = new AuditFixture(Map.of("PAM_AUDIT_SINK", "file", "PAM_AUDIT_FILE_DIR", dir.toString(),
                "PAM_AUDIT_FILE_MAX_BYTES", "4000"), false)) {
            RouteConf route = RouteConf.builder("files").preReq(new ConfEntry("pam-record", "{\"sink\":\"file\"}"))
                    .postResp(new ConfEntry("pam-record", "{}")).build();
            publicKey = fx.keys[1];
            List<String> ids = new ArrayList<>();
            // Two halves, each written before the next: the file rotates at the start of a write
            // once it is over 4,000 bytes, so this needs a second write after ten records (one
            // batch of all twenty, with the interval checkpoint in it, would never rotate). The
            // waits also keep the stop from finding records still queued behind the SCHED_IDLE
            // writer on a busy machine (they would go to the local spool for the next start).
            for (int half = 0; half < 2; half++) {
                for (int i = half * 10; i < half * 10 + 10; i++) {
                    GatewayResult r = fx.driver.call(route, call(i), fx.upstream);
                    assertThat(r.status()).isEqualTo(200);
                    ids.add(r.requestId());
                }
                int submitted = half * 10 + 10;
                JsonNode st = waitFor(fx, s -> s.path("submitted").asLong() >= submitted && s.path("pending_calls").asInt() == 0
                        && s.path("idle").asBoolean());
                assertThat(st.path("idle").asBoolean()).as(st.toString()).isTrue();
            }
            // a route that names another sink is refused at PrepareConf (fail closed: 503)
            RouteConf wrong = RouteConf.builder("files-wrong").preReq(new ConfEntry("pam-record", "{\"sink\":\"redis\"}")).build();
            assertThat(fx.driver.call(wrong, call(99), fx.upstream).status()).isEqualTo(503);
            fx.runner.stop(); // SIGTERM: flush and a final signed checkpoint
        }
        try (var files = java.nio.file.Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).contains("audit.jsonl", "audit-000001.jsonl");
        }
        PamRecordE2ETest.Run search = PamRecordE2ETest.pamctl("audit", "search", "--file", dir.toString(), "--route", "files");
        assertThat(search.out().lines().count()).isEqualTo(20);
        PamRecordE2ETest.Run verify = PamRecordE2ETest.pamctl("audit", "verify", "--file", dir.toString(), "--complete",
                "--public-key", publicKey);
        assertThat(verify.code()).as(verify.out()).isZero();
        assertThat(verify.out()).as("the shutdown checkpoint signs the whole chain").doesNotContain("after the last signed checkpoint");
    }
}
