package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.query.AuditFilter;
import io.inferencepam.driver.ClientRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Evidence before the upstream is called: the admitted entry of a call is in the store while the
 * model generates, so a runner killed then (SIGKILL, OOM, crash) leaves it, and search shows the
 * call as admitted without an outcome.
 */
class PamRecordAdmissionE2ETest {

    @Test
    void aRunnerKilledWhileTheUpstreamRunsLeavesTheAdmittedEntryOfTheCall() throws Exception {
        ExecutorService client = Executors.newSingleThreadExecutor();
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            // A long generation: the model server sends its first event, then takes its time.
            fx.upstream.respondSse(List.of("{\"choices\":[{\"delta\":{\"content\":\"Once\"}}]}", "[DONE]"), Duration.ofMinutes(5));
            RouteConf route = PamRecordE2ETest.route("admit", new ConfEntry("test-pam-auth", PamRecordE2ETest.AUTH_CONF));
            ClientRequest request = PamRecordE2ETest.chat("llama-kill-me", "a long story");
            Future<GatewayResult> call = client.submit(() -> fx.driver.call(route, request, fx.upstream));

            await("the upstream received the call", () -> !fx.upstream.requests().isEmpty());
            AuditFilter unfinished = AuditFilter.fromQuery(Map.of("decision", "admitted"), 100);
            await("the admitted entry is stored while the upstream runs", () -> !fx.query().search(unfinished).isEmpty());
            assertThat(call.isDone()).as("the call is still in its upstream").isFalse();

            fx.runner.process().destroyForcibly(); // SIGKILL: no shutdown hook, nothing flushed
            assertThat(fx.runner.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(fx.runner.process().exitValue()).isEqualTo(137);

            List<JsonNode> found = fx.query().search(unfinished);
            assertThat(found).hasSize(1);
            JsonNode admitted = found.get(0);
            assertThat(admitted.path("kind").asText()).isEqualTo("admitted");
            assertThat(admitted.path("principal").path("subject").asText()).isEqualTo("sub-alice");
            assertThat(admitted.path("model").asText()).isEqualTo("llama-kill-me");
            assertThat(admitted.path("route_id").asText()).isEqualTo("admit");
            assertThat(admitted.path("request").path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex(request.body()));
            assertThat(admitted.path("request").path("size").asInt()).isEqualTo(request.body().length);
            assertThat(admitted.path("hash").asText()).as("chained like every entry").matches("[0-9a-f]{64}");
            assertThat(fx.query().show(admitted.path("id").asText())).as("no final record: the runner never saw the call end").isEmpty();
            PamRecordE2ETest.assertNoSecrets(fx.everythingStored());
            assertThat(fx.everythingStored()).doesNotContain("a long story"); // the body is in the final record only

            PamRecordE2ETest.Run search = PamRecordE2ETest.pamctl("audit", "search", "--redis", fx.redis.url(), "--decision", "admitted");
            assertThat(search.code()).isZero();
            assertThat(search.out().lines().toList()).hasSize(1).allMatch(l -> l.contains("\"admission\":\"" + admitted.path("admission").asText()));
        } finally {
            client.shutdownNow();
        }
    }

    @Test
    void aCallThatEndsHasItsFinalRecordNameTheAdmittedEntry() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"choices\":[]}");
            RouteConf route = PamRecordE2ETest.route("admit-end", new ConfEntry("test-pam-auth", PamRecordE2ETest.AUTH_CONF));
            GatewayResult r = fx.driver.call(route, PamRecordE2ETest.chat("llama-3-70b", "hello"), fx.upstream);
            assertThat(r.status()).isEqualTo(200);
            JsonNode fin = fx.record(r.requestId());
            String admission = fin.path("admission").asText();
            assertThat(admission).matches("[0-9a-f]{32}");
            JsonNode admitted = fx.entries().stream().map(e -> parse(e.json()))
                    .filter(n -> "admitted".equals(n.path("kind").asText()) && admission.equals(n.path("admission").asText()))
                    .findFirst().orElseThrow();
            assertThat(admitted.path("id").asText()).isEqualTo(r.requestId());
            assertThat(admitted.path("seq").asLong()).as("stored before the final record").isLessThan(fin.path("seq").asLong());
            assertThat(admitted.path("request").path("body_sha256").asText()).isEqualTo(fin.path("request").path("body_sha256").asText());
            assertThat(fx.query().search(AuditFilter.fromQuery(Map.of("decision", "admitted"), 100))).isEmpty();
        }
    }

    private static JsonNode parse(String json) {
        try {
            return io.inferencepam.pam.record.chain.CanonicalJson.parse(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @FunctionalInterface
    interface Check {
        boolean done() throws Exception;
    }

    /** Waits (no timing assertion: a generous bound only so a broken build does not hang). */
    private static void await(String what, Check check) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!check.done()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("gave up waiting: " + what);
            }
            Thread.sleep(20);
        }
    }
}
