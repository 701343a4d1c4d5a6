package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.spool.Spool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: kill -9 the runner under load and restart it. A real runner process, a real
 * redis-server. Redis is stopped part-way, so what the runner made durable at the moment of the
 * kill sits in its local spool (fsynced) and must be replayed by the next start.
 *
 * <p>What a SIGKILL may lose is only what was still in memory (queued, or linked and not yet
 * stored or spooled): the next start anchors its chain on the last durable entry, so the chain
 * has no gap. Asserted exactly: every call that completed before the load phase is stored; every
 * entry durable in the spool at the kill is stored after the restart, once; the stream holds one
 * chain, seq 1..n without a hole or a repeat; {@code pamctl audit verify --complete} passes; the
 * restarted runner records new calls in the same chain.
 */
class PamRecordKillE2ETest {

    @Test
    void aRunnerKilledUnderLoadRestartsReplaysItsSpoolAndTheChainVerifies() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"choices\":[]}");
            RouteConf route = PamRecordE2ETest.route("kill", new ConfEntry("test-pam-auth", PamRecordE2ETest.AUTH_CONF));

            // 1. calls that complete, and are stored, before anything goes wrong
            List<String> before = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                GatewayResult r = fx.driver.call(route, PamRecordE2ETest.chat("m", "before " + i), fx.upstream);
                assertThat(r.status()).isEqualTo(200);
                before.add(r.requestId());
            }
            PamRecordOutageE2ETest.waitFor(fx, s -> s.path("idle").asBoolean());

            // 2. load; Redis goes away (its data saved); the runner spools; then SIGKILL mid-load
            int threads = 4;
            AtomicBoolean go = new AtomicBoolean(true);
            AtomicInteger done = new AtomicInteger();
            ConcurrentLinkedQueue<String> loadIds = new ConcurrentLinkedQueue<>();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> clients = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                clients.add(pool.submit(() -> {
                    for (int i = 0; go.get(); i++) {
                        try {
                            GatewayResult r = fx.driver.call(route, PamRecordE2ETest.chat("m", "load " + thread + "-" + i), fx.upstream);
                            loadIds.add(r.requestId());
                            done.incrementAndGet();
                        } catch (RuntimeException e) {
                            return null; // the runner is gone
                        }
                    }
                    return null;
                }));
            }
            awaitCount(done, 100);
            try {
                fx.jedis.sendCommand(redis.clients.jedis.Protocol.Command.SHUTDOWN, "SAVE");
            } catch (RuntimeException expected) {
                // the connection closes under us
            }
            fx.redis.stop();
            PamRecordOutageE2ETest.waitFor(fx, s -> s.path("spooled").asLong() >= 50);
            fx.runner.process().destroyForcibly(); // SIGKILL: no shutdown hook, nothing flushed
            assertThat(fx.runner.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            go.set(false);
            for (Future<?> f : clients) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();

            // what was durable at the kill: the spool's and the overflow spool's pending lines
            List<String> durable = new ArrayList<>(pending(new Spool(fx.spool, 1L << 30, 0)));
            List<String> overflowed = pending(new Spool(fx.spool.resolve("overflow"), 1L << 30, 0));
            assertThat(durable).as("the load reached the spool before the kill").isNotEmpty();

            // 3. Redis back, the runner restarted on the same spool directory
            fx.redis.startAgain();
            fx.runner.launch();
            try (ApisixDriver driver = new ApisixDriver(fx.runner.socket())) {
                GatewayResult after = driver.call(route, PamRecordE2ETest.chat("m", "after the restart"), fx.upstream);
                assertThat(after.status()).isEqualTo(200);
                JsonNode st = PamRecordOutageE2ETest.waitFor(fx, s -> s.path("idle").asBoolean() && s.path("pending_calls").asInt() == 0);
                assertThat(st.path("idle").asBoolean()).as(st.toString()).isTrue();
                assertThat(st.path("lost").asLong()).isZero();

                List<StoredEntry> entries = fx.entries();
                Map<String, JsonNode> calls = new HashMap<>();
                Set<String> storedLines = new HashSet<>();
                String instance = null;
                long lastSeq = 0;
                for (StoredEntry e : entries) {
                    JsonNode n = CanonicalJson.parse(e.json());
                    instance = instance == null ? n.path("instance").asText() : instance;
                    assertThat(n.path("instance").asText()).as("one chain across the kill").isEqualTo(instance);
                    assertThat(n.path("seq").asLong()).as("no hole, no repeat").isEqualTo(lastSeq + 1);
                    lastSeq = n.path("seq").asLong();
                    storedLines.add(e.json());
                    if ("call".equals(n.path("kind").asText())) {
                        assertThat(calls.put(n.path("id").asText(), n)).as("one final record per call").isNull();
                    }
                }
                assertThat(calls.keySet()).as("every call completed before the load").containsAll(before);
                assertThat(storedLines).as("every entry durable in the spool at the kill is stored").containsAll(durable);
                assertThat(calls).containsKey(after.requestId());
                Set<String> sent = new HashSet<>(before);
                sent.addAll(loadIds);
                sent.add(after.requestId());
                // a call in flight at the kill has a request id the client never saw: its record
                // may be stored (the runner answered, the client did not read it), all others are ours
                assertThat(calls.keySet().stream().filter(id -> !sent.contains(id)).count()).isLessThanOrEqualTo(threads);
                for (String line : overflowed) {
                    String id = CanonicalJson.parse(line).path("id").asText();
                    assertThat(calls.containsKey(id) || line.contains("\"kind\":\"admitted\"")).as("overflowed record " + id + " linked after the restart").isTrue();
                }
            }
            PamRecordE2ETest.Run verify = PamRecordE2ETest.pamctl("audit", "verify", "--redis", fx.redis.url(), "--public-key", fx.keys[1],
                    "--complete");
            assertThat(verify.code()).as(verify.out()).isZero();
        }
    }

    /** The lines a spool holds that were not yet drained (read without committing). */
    private static List<String> pending(Spool spool) throws Exception {
        return spool.read(Integer.MAX_VALUE).lines();
    }

    private static void awaitCount(AtomicInteger n, int atLeast) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (n.get() < atLeast && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertThat(n.get()).isGreaterThanOrEqualTo(atLeast);
    }
}
