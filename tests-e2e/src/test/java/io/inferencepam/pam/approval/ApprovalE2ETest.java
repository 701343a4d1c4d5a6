package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * pam-approval end to end: real Keycloak users (bob and alice request; rita, ravi and dana review),
 * a real redis-server, the real runner process behind the APISIX-side driver, a real upstream.
 * What the upstream receives is the proof of "runs exactly once". Reviewers decide through the
 * approvals route ({@link ApprovalFixture}).
 */
class ApprovalE2ETest {
    static ApprovalFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new ApprovalFixture(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    static final String HOLD_SECRET_MODELS = "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],"
            + "\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0}";

    static RouteConf route(String id, String conf) {
        return fx.route(id, conf);
    }

    static GatewayResult call(RouteConf route, String user, String body, String... headers) {
        return fx.call(route, user, body, headers);
    }

    static String chat(String model) {
        return ApprovalFixture.chat(model);
    }

    static JsonNode error(GatewayResult r) throws Exception {
        return ApprovalFixture.error(r);
    }

    static String heldId(GatewayResult r) throws Exception {
        return ApprovalFixture.heldId(r);
    }

    @Test
    void aCallNoRuleMatchesPassesAndTheApprovalHeaderNeverReachesTheUpstream() {
        RouteConf route = route("approval-pass", HOLD_SECRET_MODELS);
        GatewayResult r = call(route, "bob", chat("public-1"), "X-PAM-Approval", "new");
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(200);
        assertThat(r.upstreamRequests()).hasSize(1);
        assertThat(r.upstreamRequests().get(0).header("x-pam-approval")).isEmpty();
    }

    @Test
    void parkedThenApprovedThenRepeatedRunsOnceAndTheSecondRepeatIsRefused() throws Exception {
        RouteConf route = route("approval-once", HOLD_SECRET_MODELS);
        String body = chat("secret-llm");
        GatewayResult first = call(route, "bob", body);
        String id = heldId(first);
        JsonNode approval = error(first).path("approval");
        assertThat(approval.path("status_url").asText()).isEqualTo("/pam/approvals/" + id);
        assertThat(approval.path("expires_at").asText()).isNotEmpty();
        assertThat(error(first).path("message").asText()).contains(id).contains("identical request");

        assertThat(heldId(call(route, "bob", body))).as("a repeat while pending joins it").isEqualTo(id);
        fx.approve("rita", id);

        GatewayResult run = call(route, "bob", body);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        assertThat(run.upstreamRequests()).hasSize(1);
        assertThat(run.upstreamRequests().get(0).bodyUtf8()).isEqualTo(body);

        GatewayResult replay = call(route, "bob", body);
        assertThat(replay.status()).isEqualTo(409);
        assertThat(error(replay).path("code").asText()).isEqualTo("approval_already_used");
        assertThat(replay.upstreamRequests()).isEmpty();
        GatewayResult replayNamed = call(route, "bob", body, "X-PAM-Approval", id);
        assertThat(error(replayNamed).path("code").asText()).isEqualTo("approval_already_used");

        String again = heldId(call(route, "bob", body, "X-PAM-Approval", "new"));
        assertThat(again).as("asked for a new approval").isNotEqualTo(id);
    }

    @Test
    void theApprovalRunsOnlyForItsPrincipalAndOnlyForTheApprovedBody() throws Exception {
        RouteConf route = route("approval-who", HOLD_SECRET_MODELS);
        String body = chat("secret-llm");
        String id = heldId(call(route, "bob", body));
        fx.approve("rita", id);

        GatewayResult stolen = call(route, "alice", body, "X-PAM-Approval", id);
        assertThat(stolen.status()).isEqualTo(403);
        assertThat(error(stolen).path("code").asText()).isEqualTo("approval_principal_mismatch");
        assertThat(stolen.upstreamRequests()).isEmpty();
        String alicesOwn = heldId(call(route, "alice", body));
        assertThat(alicesOwn).as("the same body from alice is alice's own approval").isNotEqualTo(id);

        GatewayResult swapped = call(route, "bob", chat("secret-llm"), "X-PAM-Approval", id);
        assertThat(swapped.status()).isEqualTo(409);
        assertThat(error(swapped).path("code").asText()).isEqualTo("approval_request_mismatch");
        assertThat(swapped.upstreamRequests()).isEmpty();
        assertThat(heldId(call(route, "bob", chat("secret-llm")))).as("another body is another approval").isNotEqualTo(id);

        GatewayResult otherRoute = call(route("approval-who-2", HOLD_SECRET_MODELS), "bob", body, "X-PAM-Approval", id);
        assertThat(error(otherRoute).path("code").asText()).as("the route is part of the request").isEqualTo("approval_request_mismatch");

        GatewayResult run = call(route, "bob", body, "X-PAM-Approval", id);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        assertThat(run.upstreamRequests()).hasSize(1);
        assertThat(run.upstreamRequests().get(0).header("x-pam-approval")).isEmpty();
    }

    @Test
    void deniedAndExpiredAndUnknownApprovals() throws Exception {
        RouteConf route = route("approval-no", HOLD_SECRET_MODELS);
        String body = chat("secret-llm");
        String id = heldId(call(route, "bob", body));
        assertThat(fx.decide("rita", id, "deny", "not with customer data").status()).isEqualTo(200);
        GatewayResult denied = call(route, "bob", body);
        assertThat(denied.status()).isEqualTo(403);
        assertThat(error(denied).path("code").asText()).isEqualTo("approval_denied");
        assertThat(denied.upstreamRequests()).isEmpty();

        String body2 = chat("secret-llm");
        String id2 = heldId(call(route, "bob", body2));
        fx.approve("rita", id2);
        // time travel: the approval's expiry (Redis clock) moved into the past, as if its TTL had run out
        fx.jedis.hset(ApprovalKeys.approval(id2), "expires_ms", Long.toString(System.currentTimeMillis() - 1000));
        GatewayResult expired = call(route, "bob", body2, "X-PAM-Approval", id2);
        assertThat(expired.status()).isEqualTo(409);
        assertThat(error(expired).path("code").asText()).isEqualTo("approval_expired");
        assertThat(heldId(call(route, "bob", body2))).as("after expiry the identical call asks again").isNotEqualTo(id2);

        String tag = id.substring(4, 24);
        GatewayResult unknown = call(route, "bob", body, "X-PAM-Approval", "apr_" + tag + "_" + "0".repeat(32));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(error(unknown).path("code").asText()).isEqualTo("approval_not_found");
        GatewayResult garbage = call(route, "bob", body, "X-PAM-Approval", "apr_../../x");
        assertThat(garbage.status()).isEqualTo(400);
        assertThat(error(garbage).path("code").asText()).isEqualTo("invalid_approval_header");
    }

    @Test
    void concurrentIdenticalRepeatsRunExactlyOnce() throws Exception {
        RouteConf route = route("approval-race", HOLD_SECRET_MODELS);
        String body = chat("secret-llm");
        String id = heldId(call(route, "bob", body));
        fx.approve("rita", id);
        int before = fx.upstream.requests().size();
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<GatewayResult>> fs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    return call(route, "bob", body);
                }));
            }
            go.countDown();
            List<Integer> statuses = new ArrayList<>();
            for (Future<GatewayResult> f : fs) {
                statuses.add(f.get().status());
            }
            assertThat(statuses).filteredOn(s -> s == 200).hasSize(1);
            assertThat(statuses).filteredOn(s -> s == 409).hasSize(11);
            assertThat(fx.upstream.requests().size() - before).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void parameterThresholdsAndTheCapOfOpenApprovals() throws Exception {
        RouteConf route = route("approval-cap", "{\"rules\":[{\"id\":\"long-output\",\"params_above\":{\"max_tokens\":1000}}],"
                + "\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0,\"max_open_per_principal\":2}");
        assertThat(call(route, "alice", "{\"model\":\"m\",\"max_tokens\":1000}").status()).isEqualTo(200);
        heldId(call(route, "alice", "{\"model\":\"m\",\"max_tokens\":1001}"));
        heldId(call(route, "alice", "{\"model\":\"m\",\"max_tokens\":1002}"));
        GatewayResult third = call(route, "alice", "{\"model\":\"m\",\"max_tokens\":1003}");
        assertThat(third.status()).isEqualTo(429);
        assertThat(error(third).path("code").asText()).isEqualTo("approval_limit_reached");
        assertThat(third.header("x-should-retry")).isEqualTo("false");
    }

    /** Spellings the model servers read as a large limit, and no limit at all, are held through the runner. */
    @Test
    void aTokenLimitInAnotherSpellingOrMissingIsHeld() throws Exception {
        RouteConf route = route("approval-spellings", "{\"rules\":[{\"id\":\"long-output\",\"params_above\":{\"max_tokens\":1000}}],"
                + "\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0,\"max_open_per_principal\":1000}");
        for (String body : List.of("{\"model\":\"m\",\"MAX_TOKENS\":99999}", "{\"model\":\"m\",\"max_tokens\":\"99_999\"}",
                "{\"model\":\"m\",\"max_tokens\":\" +99999 \"}", "{\"model\":\"m\",\"max_tokens\":1,\"Max_Tokens\":99999}",
                chat("m"))) {
            GatewayResult r = call(route, "bob", body);
            assertThat(r.status()).as(body).isEqualTo(403);
            assertThat(error(r).path("code").asText()).isEqualTo("approval_pending");
            assertThat(r.upstreamRequests()).as(body).isEmpty();
        }
        assertThat(call(route, "bob", "{\"model\":\"m\",\"MAX_TOKENS\":\"1_000\"}").status()).isEqualTo(200);
    }

    @Test
    void redisDownAtHoldTimeIs503AndLeavesNothingBehind() throws Exception {
        RouteConf route = route("approval-down", HOLD_SECRET_MODELS);
        String body = chat("secret-llm");
        fx.redis.stop();
        try {
            GatewayResult r = call(route, "bob", body);
            assertThat(r.status()).isEqualTo(503);
            assertThat(error(r).path("code").asText()).isEqualTo("approval_store_unavailable");
            assertThat(r.upstreamRequests()).isEmpty();
            assertThat(call(route, "bob", chat("public")).status()).as("calls no rule holds need no Redis").isEqualTo(200);
        } finally {
            fx.redis.startAgain();
            fx.reconnect(); // the test's pooled connections died with the server
            fx.storeControlCredential(); // a fresh redis-server (no persistence) lost the approvals route's credential
        }
        // a fresh redis-server (no persistence): the first call after it is a fresh hold
        GatewayResult after = null;
        for (int i = 0; i < 50; i++) {
            after = call(route, "bob", body);
            if (after.status() != 503) {
                break;
            }
            Thread.sleep(100);
        }
        heldId(after);
    }

    /** The pam-record trail of a held call and of its approved repeat. */
    static JsonNode audit(String requestId) throws Exception {
        io.inferencepam.pam.record.query.AuditQuery q = new io.inferencepam.pam.record.query.AuditQuery(
                new io.inferencepam.pam.record.sink.RedisStreamSink(fx.jedis, io.inferencepam.pam.record.sink.RedisStreamSink.DEFAULT_KEY,
                        0, java.time.Duration.ZERO, java.time.Clock.systemUTC()));
        long end = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < end) {
            java.util.Optional<JsonNode> r = q.show(requestId);
            if (r.isPresent()) {
                return r.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no audit record for " + requestId + "; runner log:\n" + fx.runner.log());
    }

    @Test
    void everyStepIsInTheAuditTrail() throws Exception {
        RouteConf route = RouteConf.builder("approval-audit")
                .preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("pam-auth", fx.authConf()),
                        new ConfEntry("pam-approval", HOLD_SECRET_MODELS))
                .postResp(new ConfEntry("pam-record", "{}")).build();
        String body = chat("secret-llm");
        GatewayResult held = call(route, "bob", body);
        String id = heldId(held);
        JsonNode heldRecord = audit(held.requestId());
        assertThat(heldRecord.path("approval").path("id").asText()).isEqualTo(id);
        assertThat(heldRecord.path("decisions").toString()).contains("\"pam-approval\"").contains("\"hold\"").contains("sensitive")
                .contains("held for approval " + id);
        fx.approve("rita", id);
        GatewayResult run = call(route, "bob", body);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        JsonNode runRecord = audit(run.requestId());
        assertThat(runRecord.path("approval").path("id").asText()).isEqualTo(id);
        assertThat(runRecord.path("approval").path("reviewers").toString()).contains("rita");
        assertThat(runRecord.path("decisions").toString()).contains("\"approve\"").contains("approval " + id + " used")
                .as("who approved and why").contains("rita: approved in test by rita");
        GatewayResult replay = call(route, "bob", body);
        assertThat(audit(replay.requestId()).path("decisions").toString()).contains("\"deny\"").contains("approval_already_used");
    }

    @Test
    void withoutPamAuthBeforeItTheRouteFailsClosed() throws Exception {
        RouteConf route = RouteConf.builder("approval-alone").preReq(new ConfEntry("pam-approval", HOLD_SECRET_MODELS)).build();
        GatewayResult r = call(route, "bob", chat("public"));
        assertThat(r.status()).isEqualTo(503);
        assertThat(error(r).path("code").asText()).isEqualTo("approval_context_missing");
        assertThat(r.upstreamRequests()).isEmpty();
    }
}
