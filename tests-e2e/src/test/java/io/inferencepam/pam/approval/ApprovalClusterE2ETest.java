package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The approval flows with two real runner processes on a real three-master Redis Cluster
 * ({@code PAM_REDIS_CLUSTER=true}), real Keycloak users: parked, approved, the identical repeat runs
 * exactly once; held live on runner A and resumed by a decision taken on runner B.
 */
class ApprovalClusterE2ETest {
    static ApprovalFixture fx;
    static ApprovalFixture.Node a;
    static ApprovalFixture.Node b;

    @BeforeAll
    static void start() throws Exception {
        fx = ApprovalFixture.onCluster(Map.of("PAM_CALL_DEADLINE_MS", "1500"), 2);
        a = fx.nodes.get(0);
        b = fx.nodes.get(1);
        fx.primeApprovals();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    static RouteConf route(String id, int waitSeconds) {
        try {
            return fx.primed(fx.route(id, "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"],"
                    + "\"wait_seconds\":" + waitSeconds + "}"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String chat() {
        return "{\"model\":\"secret-" + UUID.randomUUID().toString().substring(0, 8) + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + UUID.randomUUID() + "\"}]}";
    }

    @Test
    void parkedOnAApprovedThroughBTheIdenticalRepeatRunsExactlyOnce() throws Exception {
        RouteConf route = route("cl-park", 1);
        String body = chat();
        GatewayResult parked = fx.call(a, route, "bob", body);
        String id = ApprovalFixture.heldId(parked);
        ApprovalFixture.Answer ok = fx.decide(b, "rita", id, "approve", "fine");
        assertThat(ok.status()).as(ok.json().toString()).isEqualTo(200);
        GatewayResult run = fx.call(b, route, "bob", body);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        assertThat(run.upstreamRequests()).hasSize(1);
        GatewayResult again = fx.call(a, route, "bob", body);
        assertThat(again.status()).isEqualTo(409);
        assertThat(ApprovalFixture.error(again).path("code").asText()).isEqualTo("approval_already_used");
        assertThat(again.upstreamRequests()).isEmpty();
    }

    @Test
    void heldLiveOnAResumedByADecisionOnB() throws Exception {
        RouteConf route = route("cl-live", 20);
        String body = chat();
        CompletableFuture<GatewayResult> held = CompletableFuture.supplyAsync(() -> fx.call(a, route, "bob", body));
        String id = null;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (id == null && System.nanoTime() < end) {
            for (var x : fx.approvals(b, "rita", "GET", "", null).json().path("approvals")) {
                if (body.contains(x.path("model").asText("\u0000"))) {
                    id = x.path("id").asText();
                }
            }
            Thread.sleep(50);
        }
        assertThat(id).as("pending approval listed on B").isNotNull();
        assertThat(held).isNotDone();
        assertThat(fx.decide(b, "rita", id, "approve", "fine").status()).isEqualTo(200);
        GatewayResult r = held.get(20, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(200);
        assertThat(r.upstreamRequests()).hasSize(1);
    }
}
