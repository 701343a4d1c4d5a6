package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every step of an approval in the pam-record trail (issue 12), with two real runners that both
 * record (each its own spool), real Redis, real Keycloak users and a real webhook receiver: held,
 * notified (per delivery), decided (by the runner that took the decision), resumed live or
 * consumed later, denied on repeat, and expired — exactly once each, even with both runners
 * sweeping expiries — linked by approval id and the held call's request id, found by
 * {@code pamctl audit search --approval}, with a chain that {@code pamctl audit verify} accepts.
 */
class ApprovalAuditE2ETest {
    static final String[] KEYS = CheckpointSigner.generate();
    static ApprovalFixture fx;
    static ApprovalFixture.Node a;
    static ApprovalFixture.Node b;
    static WebhookReceiver receiver;
    static final ExecutorService CLIENTS = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws Exception {
        receiver = new WebhookReceiver();
        List<Path> spools = List.of(Files.createTempDirectory("pam-apr-audit-a"), Files.createTempDirectory("pam-apr-audit-b"));
        fx = new ApprovalFixture(Map.of("PAM_AUDIT_SIGNING_KEY", KEYS[0], "PAM_AUDIT_VERIFY_KEY", KEYS[1],
                "PAM_AUDIT_CHECKPOINT_INTERVAL_MS", "300", "PAM_APPROVAL_EXPIRY_SWEEP_MAX_MS", "200",
                "PAM_APPROVAL_WEBHOOK_HOOK", "json " + receiver.url("/hook")), 2,
                n -> Map.of("PAM_AUDIT_SPOOL_DIR", spools.get(n).toString()));
        a = fx.nodes.get(0);
        b = fx.nodes.get(1);
    }

    @AfterAll
    static void stop() throws Exception {
        CLIENTS.shutdownNow();
        if (fx != null) {
            fx.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    static RouteConf route(String id, int waitSeconds) {
        String approval = "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"],"
                + "\"wait_seconds\":" + waitSeconds + ",\"notify\":[\"hook\"]}";
        return RouteConf.builder(id).preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("pam-auth", fx.authConf()),
                new ConfEntry("pam-approval", approval)).postResp(new ConfEntry("pam-record", "{}")).build();
    }

    static String model() {
        return "secret-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** The approval's story as {@code pamctl audit search --approval} prints it. */
    static List<JsonNode> story(String approvalId) throws Exception {
        Run r = pamctl("audit", "search", "--redis", redisUrl(), "--approval", approvalId, "--limit", "1000");
        assertThat(r.code()).as(r.out()).isZero();
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (!line.isBlank()) {
                out.add(CanonicalJson.parse(line));
            }
        }
        return out;
    }

    static String redisUrl() {
        return fx.redis.url();
    }

    static List<JsonNode> events(List<JsonNode> story, String event) {
        return story.stream().filter(n -> "approval".equals(n.path("kind").asText()) && event.equals(n.path("event").asText()))
                .toList();
    }

    /** Waits until the story satisfies {@code done}, then a little longer so late duplicates would show. */
    static List<JsonNode> awaitStory(String approvalId, Predicate<List<JsonNode>> done) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<JsonNode> s = story(approvalId);
        while (!done.test(s) && System.nanoTime() < end) {
            Thread.sleep(100);
            s = story(approvalId);
        }
        assertThat(done.test(s)).as("story of " + approvalId + ": " + s).isTrue();
        Thread.sleep(1500); // several sweeps and webhook rounds: anything written twice is there by now
        return story(approvalId);
    }

    static JsonNode one(List<JsonNode> story, String event) {
        List<JsonNode> e = events(story, event);
        assertThat(e).as(event + " in " + story).hasSize(1);
        return e.get(0);
    }

    @Test
    void parkedDecidedOnTheOtherRunnerThenConsumedEveryStepOnceAndTheChainVerifies() throws Exception {
        RouteConf route = route("audit-park", 0);
        String body = ApprovalFixture.chat(model());
        GatewayResult held = fx.call(a, route, "bob", body);
        String id = ApprovalFixture.heldId(held);
        ApprovalFixture.Answer ok = fx.decide(b, "rita", id, "approve", "ticket OPS-12");
        assertThat(ok.status()).as(ok.json().toString()).isEqualTo(200);
        GatewayResult run = fx.call(a, route, "bob", body);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);

        List<JsonNode> s = awaitStory(id, x -> events(x, "consumed").size() == 1 && events(x, "notified").size() == 2
                && x.stream().filter(n -> "call".equals(n.path("kind").asText())).count() == 2);
        JsonNode h = one(s, "held");
        assertThat(h.path("request_id").asText()).isEqualTo(held.requestId());
        assertThat(h.path("route_id").asText()).isEqualTo("audit-park");
        assertThat(h.path("principal").path("username").asText()).isEqualTo("bob");
        assertThat(h.path("rules").toString()).isEqualTo("[\"sensitive\"]");
        assertThat(h.path("fingerprint").asText()).hasSize(64);
        assertThat(h.path("required").asInt()).isEqualTo(1);
        assertThat(h.has("body")).isFalse();

        List<JsonNode> notified = events(s, "notified");
        assertThat(notified).extracting(n -> n.path("webhook_event").asText())
                .containsExactlyInAnyOrder("approval.pending", "approval.decided");
        for (JsonNode n : notified) {
            assertThat(n.path("webhook").asText()).isEqualTo("hook");
            assertThat(n.path("delivered").asBoolean()).isTrue();
            assertThat(n.path("request_id").asText()).isEqualTo(held.requestId());
            assertThat(n.toString()).doesNotContain(receiver.url("/hook"));
        }

        JsonNode d = one(s, "decided");
        assertThat(d.path("request_id").asText()).isEqualTo(held.requestId());
        assertThat(d.path("reviewer").path("username").asText()).isEqualTo("rita");
        assertThat(d.path("decision").asText()).isEqualTo("approve");
        assertThat(d.path("reason").asText()).isEqualTo("ticket OPS-12");
        assertThat(d.path("approvals").asInt()).isEqualTo(1);
        assertThat(d.path("state").asText()).isEqualTo("approved");
        assertThat(d.path("instance").asText()).as("written by runner B, which took the decision")
                .isNotEqualTo(h.path("instance").asText());

        JsonNode c = one(s, "consumed");
        assertThat(c.path("request_id").asText()).isEqualTo(held.requestId());
        assertThat(c.path("call_request_id").asText()).isEqualTo(run.requestId());
        assertThat(c.path("approved_by").toString()).isEqualTo("[\"rita\"]");
        assertThat(events(s, "resumed")).isEmpty();
        assertThat(events(s, "expired")).isEmpty();
        assertThat(s).filteredOn(n -> "call".equals(n.path("kind").asText())).extracting(n -> n.path("id").asText())
                .containsExactlyInAnyOrder(held.requestId(), run.requestId());

        Run verify = pamctl("audit", "verify", "--redis", redisUrl(), "--public-key", KEYS[1]);
        assertThat(verify.code()).as(verify.out()).isZero();
        assertThat(verify.out()).contains("OK: ");
    }

    @Test
    void heldLiveAndResumedByADecisionOnTheOtherRunner() throws Exception {
        RouteConf route = route("audit-live", 20);
        String model = model();
        CompletableFuture<GatewayResult> held = CompletableFuture.supplyAsync(
                () -> fx.call(a, route, "bob", ApprovalFixture.chat(model)), CLIENTS);
        String id = fx.awaitPending(b, model);
        assertThat(fx.decide(b, "rita", id, "approve", "ok live").status()).isEqualTo(200);
        GatewayResult r = held.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.bodyUtf8()).isEqualTo(200);

        List<JsonNode> s = awaitStory(id, x -> events(x, "resumed").size() == 1);
        JsonNode res = one(s, "resumed");
        assertThat(res.path("request_id").asText()).isEqualTo(r.requestId());
        assertThat(res.path("call_request_id").asText()).isEqualTo(r.requestId());
        assertThat(one(s, "held").path("live_wait_seconds").asInt()).isEqualTo(20);
        one(s, "decided");
        assertThat(events(s, "consumed")).isEmpty();
    }

    @Test
    void deniedThenRepeatedIsRecordedAsDeniedOnRepeat() throws Exception {
        RouteConf route = route("audit-deny", 0);
        String body = ApprovalFixture.chat(model());
        GatewayResult held = fx.call(a, route, "bob", body);
        String id = ApprovalFixture.heldId(held);
        assertThat(fx.decide(b, "ravi", id, "deny", "no prod data in prompts").status()).isEqualTo(200);
        GatewayResult again = fx.call(b, route, "bob", body);
        assertThat(ApprovalFixture.error(again).path("code").asText()).isEqualTo("approval_denied");

        List<JsonNode> s = awaitStory(id, x -> events(x, "denied_on_repeat").size() == 1);
        JsonNode d = one(s, "decided");
        assertThat(d.path("decision").asText()).isEqualTo("deny");
        assertThat(d.path("reason").asText()).isEqualTo("no prod data in prompts");
        assertThat(d.path("state").asText()).isEqualTo("denied");
        JsonNode rep = one(s, "denied_on_repeat");
        assertThat(rep.path("request_id").asText()).isEqualTo(held.requestId());
        assertThat(rep.path("call_request_id").asText()).isEqualTo(again.requestId());
    }

    @Test
    void anApprovalNobodyTouchesExpiresExactlyOnceWithBothRunnersSweeping() throws Exception {
        RouteConf route = route("audit-expire", 0);
        // one approval opened on each runner: both sweep while they are pending
        String onA = ApprovalFixture.heldId(fx.call(a, route, "bob", ApprovalFixture.chat(model())));
        String onB = ApprovalFixture.heldId(fx.call(b, route, "alice", ApprovalFixture.chat(model())));
        assertThat(fx.jedis.zscore(ApprovalKeys.EXPIRIES, onA)).isNotNull();
        assertThat(fx.jedis.zscore(ApprovalKeys.EXPIRIES, onB)).isNotNull();
        // time travel: both TTLs ran out (Redis clock), and nobody ever calls again
        long past = System.currentTimeMillis() - 1000;
        for (String id : List.of(onA, onB)) {
            fx.jedis.hset(ApprovalKeys.approval(id), "expires_ms", Long.toString(past));
            fx.jedis.zadd(ApprovalKeys.EXPIRIES, past, id);
        }
        for (String id : List.of(onA, onB)) {
            List<JsonNode> s = awaitStory(id, x -> events(x, "expired").size() >= 1);
            JsonNode e = one(s, "expired");
            assertThat(e.path("state_at_expiry").asText()).isEqualTo("pending");
            assertThat(e.path("request_id").asText()).isEqualTo(one(s, "held").path("request_id").asText());
            assertThat(e.path("approvals").asInt()).isZero();
        }
        assertThat(fx.jedis.zcard(ApprovalKeys.EXPIRIES)).as("claimed and recorded: the sweep has nothing left").isZero();
        Run verify = pamctl("audit", "verify", "--redis", redisUrl(), "--public-key", KEYS[1]);
        assertThat(verify.code()).as(verify.out()).isZero();
    }


    record Run(int code, String out) {
    }

    static Run pamctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out + err.toString());
    }

}
