package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Held live: two real runners on one real Redis. A call held on runner A is resumed by a
 * reviewer's decision taken through runner B (pub/sub), well past the runners' ordinary per-call
 * deadline (1.5 s here), and then proceeds unchanged; undecided it is parked after its wait; caps
 * park at once; shutdown answers held calls with the parked error before the runner exits.
 */
class ApprovalLiveE2ETest {
    static ApprovalFixture fx;
    static ApprovalFixture.Node a;
    static ApprovalFixture.Node b;
    static final ExecutorService CLIENTS = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws Exception {
        fx = new ApprovalFixture(Map.of("PAM_CALL_DEADLINE_MS", "1500"), 2);
        a = fx.nodes.get(0);
        b = fx.nodes.get(1);
        fx.primeApprovals();
    }

    @AfterAll
    static void stop() throws Exception {
        CLIENTS.shutdownNow();
        if (fx != null) {
            fx.close();
        }
    }

    static RouteConf route(String id, String extra) {
        try {
            return fx.primed(fx.route(id, "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"]"
                    + extra + "}"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static CompletableFuture<GatewayResult> callAsync(ApprovalFixture.Node node, RouteConf route, String user, String body) {
        return CompletableFuture.supplyAsync(() -> fx.call(node, route, user, body), CLIENTS);
    }


    static String model() {
        return "secret-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static String chat(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + UUID.randomUUID() + "\"}]}";
    }

    @Test
    void heldLiveOnRunnerAResumedByADecisionOnRunnerBPastTheOrdinaryDeadline() throws Exception {
        RouteConf route = route("live-resume", ",\"wait_seconds\":20");
        String model = model();
        String body = chat(model);
        long t0 = System.nanoTime();
        CompletableFuture<GatewayResult> held = callAsync(a, route, "bob", body);
        String id = fx.awaitPending(b, model);
        Thread.sleep(Math.max(0, 2500 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))); // past the 1.5 s deadline
        assertThat(held).as("still held open").isNotDone();
        long approvedAt = System.nanoTime();
        ApprovalFixture.Answer ok = fx.decide(b, "rita", id, "approve", "fine");
        assertThat(ok.status()).as(ok.json().toString()).isEqualTo(200);
        GatewayResult r = held.get(20, TimeUnit.SECONDS);
        long resumeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - approvedAt);
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(200);
        assertThat(r.upstreamRequests()).hasSize(1);
        assertThat(r.upstreamRequests().get(0).bodyUtf8()).isEqualTo(body);
        assertThat(r.upstreamRequests().get(0).header("x-pam-approval")).isEmpty();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThan(2500);
        System.out.println("approve on B -> answer of the call held on A: " + resumeMs + " ms (includes the reviewer's HTTP round trip)");

        GatewayResult again = fx.call(a, route, "bob", body);
        assertThat(again.status()).as("the live run used the approval").isEqualTo(409);
        assertThat(ApprovalFixture.error(again).path("code").asText()).isEqualTo("approval_already_used");
        assertThat(fx.approvals(a, "bob", "GET", "/" + id, null).json().path("state").asText()).isEqualTo("used");
    }

    @Test
    void undecidedItIsParkedAfterItsWaitThenTheApprovedRepeatRunsOnce() throws Exception {
        RouteConf route = route("live-park", ",\"wait_seconds\":2");
        String body = chat(model());
        long t0 = System.nanoTime();
        GatewayResult parked = fx.call(a, route, "bob", body);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        String id = ApprovalFixture.heldId(parked);
        assertThat(ms).as("held for its 2 s wait, beyond the 1.5 s deadline").isBetween(1900L, 8000L);
        fx.approve("ravi", id);
        GatewayResult run = fx.call(b, route, "bob", body);
        assertThat(run.status()).isEqualTo(200);
        assertThat(run.upstreamRequests()).hasSize(1);
    }

    @Test
    void aDenialWhileHeldAnswersAtOnce() throws Exception {
        RouteConf route = route("live-deny", ",\"wait_seconds\":20");
        String model = model();
        CompletableFuture<GatewayResult> held = callAsync(a, route, "bob", chat(model));
        String id = fx.awaitPending(b, model);
        long t0 = System.nanoTime();
        assertThat(fx.decide(b, "rita", id, "deny", "no").status()).isEqualTo(200);
        GatewayResult r = held.get(10, TimeUnit.SECONDS);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5000);
        assertThat(r.status()).isEqualTo(403);
        assertThat(ApprovalFixture.error(r).path("code").asText()).isEqualTo("approval_denied");
        assertThat(r.upstreamRequests()).isEmpty();
    }

    @Test
    void beyondTheLiveCapACallIsParkedAtOnce() throws Exception {
        RouteConf route = route("live-cap", ",\"wait_seconds\":20,\"max_live_per_principal\":1");
        String model = model();
        CompletableFuture<GatewayResult> first = callAsync(a, route, "alice", chat(model));
        String id = fx.awaitPending(b, model);
        long t0 = System.nanoTime();
        GatewayResult second = fx.call(a, route, "alice", chat(model()));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("parked at once").isLessThan(1500);
        ApprovalFixture.heldId(second);
        fx.approve("rita", id);
        assertThat(first.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
    }

    @Test
    void identicalCallsHeldOnBothRunnersShareOneApprovalAndRunOnce() throws Exception {
        RouteConf route = route("live-join", ",\"wait_seconds\":20");
        String model = model();
        String body = chat(model);
        CompletableFuture<GatewayResult> onA = callAsync(a, route, "bob", body);
        String id = fx.awaitPending(b, model);
        CompletableFuture<GatewayResult> onB = callAsync(b, route, "bob", body);
        Thread.sleep(700); // the second joins the same approval
        assertThat(fx.approvals(a, "rita", "GET", "", null).json().toString().split(model, -1)).as("one approval").hasSize(2);
        int before = fx.upstream.requests().size();
        fx.approve("rita", id);
        List<Integer> statuses = new ArrayList<>(List.of(onA.get(10, TimeUnit.SECONDS).status(), onB.get(10, TimeUnit.SECONDS).status()));
        statuses.sort(null);
        assertThat(statuses).containsExactly(200, 409);
        assertThat(fx.upstream.requests().size() - before).isEqualTo(1);
    }

    @Test
    void shutdownAnswersHeldCallsParkedAndTheApprovalSurvivesTheRunner() throws Exception {
        RouteConf route = route("live-shutdown", ",\"wait_seconds\":30");
        String model = model();
        String body = chat(model);
        CompletableFuture<GatewayResult> held = callAsync(b, route, "bob", body);
        String id = fx.awaitPending(a, model);
        Thread.sleep(300);
        long t0 = System.nanoTime();
        b.runner().stop(); // SIGTERM, as APISIX sends on reload
        GatewayResult r = held.get(10, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(403);
        assertThat(ApprovalFixture.error(r).path("code").asText()).isEqualTo("approval_pending");
        assertThat(ApprovalFixture.error(r).path("approval").path("id").asText()).isEqualTo(id);
        assertThat(ms).as("answered before the runner exits").isLessThan(2000);
        assertThat(b.runner().log()).doesNotContain("answered fail-closed");
        b.runner().restart();
        fx.approve("rita", id);
        assertThat(fx.call(a, route, "bob", body).status()).isEqualTo(200);
    }
}
