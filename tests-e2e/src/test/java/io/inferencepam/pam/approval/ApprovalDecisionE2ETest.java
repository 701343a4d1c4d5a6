package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.cli.Pamctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The decision: reviewers with real Keycloak tokens through the approvals route (pam-auth +
 * pam-approval-review in front of the runner's control API), the rules of dual control, what the
 * requester may read, and pamctl as reviewer and as operator.
 */
class ApprovalDecisionE2ETest {
    static ApprovalFixture fx;
    static final String CONF = "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0}";

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

    static String hold(RouteConf route, String user, String body) throws Exception {
        return ApprovalFixture.heldId(fx.call(route, user, body));
    }

    static List<String> ids(JsonNode list) {
        return java.util.stream.StreamSupport.stream(list.path("approvals").spliterator(), false)
                .map(a -> a.path("id").asText()).toList();
    }

    @Test
    void reviewersListReadAndApproveTheRequesterReadsOnlyTheirOwn() throws Exception {
        RouteConf route = fx.route("dec-basic", CONF);
        String body = "{\"model\":\"secret-llm\",\"messages\":[{\"role\":\"user\",\"content\":\"mail jane.doe@example.com the key "
                + "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789 please\"}]}";
        String id = hold(route, "bob", body);

        ApprovalFixture.Answer ritaList = fx.approvals("rita", "GET", "", null);
        assertThat(ritaList.status()).isEqualTo(200);
        assertThat(ids(ritaList.json())).contains(id);
        assertThat(ids(fx.approvals("bob", "GET", "", null).json())).as("bob is no reviewer").doesNotContain(id);
        assertThat(ids(fx.approvals("bob", "GET", "?mine=true", null).json())).containsExactly(id);
        assertThat(ids(fx.approvals("alice", "GET", "?mine=true", null).json())).doesNotContain(id);

        ApprovalFixture.Answer shown = fx.approvals("rita", "GET", "/" + id, null);
        assertThat(shown.status()).isEqualTo(200);
        JsonNode a = shown.json();
        assertThat(a.path("state").asText()).isEqualTo("pending");
        assertThat(a.path("requester").path("username").asText()).isEqualTo("bob");
        assertThat(a.path("model").asText()).isEqualTo("secret-llm");
        assertThat(a.path("rules").toString()).contains("sensitive");
        String excerpt = a.path("prompt_excerpt").asText();
        assertThat(excerpt).contains("user: mail").contains("[email]").contains("[openai_key]")
                .doesNotContain("jane.doe@example.com").doesNotContain("sk-proj-Abcdef");
        assertThat(a.toString()).as("no credential reaches reviewers").doesNotContain(fx.token("bob"))
                .doesNotContain(fx.runner.controlAuthorization().substring(7));

        ApprovalFixture.Answer own = fx.approvals("bob", "GET", "/" + id, null);
        assertThat(own.status()).isEqualTo(200);
        assertThat(own.json().path("state").asText()).isEqualTo("pending");
        assertThat(own.json().has("headers")).as("the requester's view").isFalse();
        ApprovalFixture.Answer nosy = fx.approvals("alice", "GET", "/" + id, null);
        assertThat(nosy.status()).as("someone else's approval does not exist for alice").isEqualTo(404);
        assertThat(nosy.code()).isEqualTo("approval_not_found");

        ApprovalFixture.Answer notEligible = fx.decide("alice", id, "approve", "why not");
        assertThat(notEligible.status()).isEqualTo(403);
        assertThat(notEligible.code()).isEqualTo("reviewer_not_eligible");

        ApprovalFixture.Answer ok = fx.decide("rita", id, "approve", "business need confirmed");
        assertThat(ok.status()).as(ok.json().toString()).isEqualTo(200);
        assertThat(ok.json().path("state").asText()).isEqualTo("approved");
        assertThat(fx.decide("ravi", id, "deny", "too late").code()).isEqualTo("approval_already_decided");
        JsonNode status = fx.approvals("bob", "GET", "/" + id, null).json();
        assertThat(status.path("state").asText()).isEqualTo("approved");
        assertThat(status.path("decisions").toString()).contains("rita").contains("business need confirmed");

        GatewayResult run = fx.call(route, "bob", body);
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        assertThat(fx.approvals("bob", "GET", "/" + id, null).json().path("state").asText()).isEqualTo("used");
    }

    @Test
    void nobodyApprovesTheirOwnCall() throws Exception {
        RouteConf route = fx.route("dec-self", CONF);
        String body = ApprovalFixture.chat("secret-llm");
        String id = hold(route, "dana", body);
        assertThat(ids(fx.approvals("dana", "GET", "", null).json())).as("not listed for its requester").doesNotContain(id);
        ApprovalFixture.Answer self = fx.decide("dana", id, "approve", "trust me");
        assertThat(self.status()).isEqualTo(403);
        assertThat(self.code()).isEqualTo("self_approval_forbidden");
        assertThat(fx.decide("dana", id, "deny", "hm").code()).as("nor deny it").isEqualTo("self_approval_forbidden");
        assertThat(ApprovalFixture.heldId(fx.call(route, "dana", body))).isEqualTo(id);
        fx.approve("rita", id);
        assertThat(fx.call(route, "dana", body).status()).isEqualTo(200);
    }

    @Test
    void twoApprovalsFromTwoDifferentReviewers() throws Exception {
        RouteConf route = fx.route("dec-two", "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],"
                + "\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0,\"required_approvals\":2}");
        String body = ApprovalFixture.chat("secret-llm");
        String id = hold(route, "bob", body);
        ApprovalFixture.Answer first = fx.decide("rita", id, "approve", "one");
        assertThat(first.json().path("state").asText()).isEqualTo("pending");
        assertThat(first.json().path("approvals").asInt()).isEqualTo(1);
        assertThat(first.json().path("required").asInt()).isEqualTo(2);
        assertThat(ApprovalFixture.heldId(fx.call(route, "bob", body))).as("one of two: still held").isEqualTo(id);
        ApprovalFixture.Answer twice = fx.decide("rita", id, "approve", "one again");
        assertThat(twice.status()).isEqualTo(409);
        assertThat(twice.code()).isEqualTo("already_approved_by_you");
        assertThat(fx.decide("ravi", id, "approve", "two").json().path("state").asText()).isEqualTo("approved");
        GatewayResult run = fx.call(route, "bob", body);
        assertThat(run.status()).isEqualTo(200);
        assertThat(run.upstreamRequests()).hasSize(1);
    }

    @Test
    void denyWithAReasonAndExpiredApprovalsCannotBeDecided() throws Exception {
        RouteConf route = fx.route("dec-deny", CONF);
        String body = ApprovalFixture.chat("secret-llm");
        String id = hold(route, "bob", body);
        assertThat(fx.decide("rita", id, "deny", "").code()).as("a reason is mandatory").isEqualTo("reason_required");
        assertThat(fx.decide("rita", id, "deny", "customer data in the prompt").json().path("state").asText()).isEqualTo("denied");
        GatewayResult refused = fx.call(route, "bob", body);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(ApprovalFixture.error(refused).path("code").asText()).isEqualTo("approval_denied");
        JsonNode status = fx.approvals("bob", "GET", "/" + id, null).json();
        assertThat(status.path("state").asText()).isEqualTo("denied");
        assertThat(status.path("decisions").toString()).contains("customer data in the prompt").contains("rita");
        assertThat(fx.decide("ravi", id, "approve", "overrule").code()).isEqualTo("approval_already_decided");

        String late = hold(route, "bob", ApprovalFixture.chat("secret-llm"));
        fx.jedis.hset(ApprovalKeys.approval(late), "expires_ms", Long.toString(System.currentTimeMillis() - 1000));
        ApprovalFixture.Answer expired = fx.decide("rita", late, "approve", "sorry, late");
        assertThat(expired.status()).isEqualTo(409);
        assertThat(expired.code()).isEqualTo("approval_expired");
        assertThat(fx.approvals("bob", "GET", "/" + late, null).json().path("state").asText()).isEqualTo("expired");
        assertThat(fx.approvals("rita", "GET", "", null).json().toString()).doesNotContain(late);
    }

    @Test
    void theControlTokenAloneReadsButNeverDecidesAndTicketsAreSingleUse() throws Exception {
        RouteConf route = fx.route("dec-operator", CONF);
        String id = hold(route, "bob", ApprovalFixture.chat("secret-llm"));
        String op = fx.runner.controlAuthorization();
        HttpResponse<String> list = fx.control("GET", "/v1/approvals", null, op);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains(id);
        assertThat(fx.control("GET", "/v1/approvals/" + id, null, op).body()).contains("prompt_excerpt");
        HttpResponse<String> decide = fx.control("POST", "/v1/approvals/" + id + "/approve", "{\"reason\":\"ops\"}", op);
        assertThat(decide.statusCode()).isEqualTo(403);
        assertThat(decide.body()).contains("reviewer_identity_required");
        assertThat(fx.control("GET", "/v1/approvals", null, null).statusCode()).as("no control token").isEqualTo(401);

        HttpRequest withTicket = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.runner.controlPort()
                        + "/v1/approvals/" + id + "/approve")).header("Authorization", op).header("Content-Type", "application/json")
                .header("X-PAM-Reviewer-Ticket", "rt_" + "0".repeat(32)).POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"x\"}")).build();
        HttpResponse<String> guessed = fx.http.send(withTicket, HttpResponse.BodyHandlers.ofString());
        assertThat(guessed.statusCode()).isEqualTo(401);
        assertThat(guessed.body()).contains("invalid_reviewer_ticket");
        // a ticket the client sends on the approvals route is replaced by the one minted for its verified token
        HttpRequest spoof = HttpRequest.newBuilder(URI.create(fx.gateway.url() + "/pam/approvals/" + id + "/approve"))
                .header("Authorization", "Bearer " + fx.token("alice")).header("Content-Type", "application/json")
                .header("X-PAM-Reviewer-Ticket", "rt_" + "1".repeat(32)).POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"x\"}")).build();
        assertThat(fx.http.send(spoof, HttpResponse.BodyHandlers.ofString()).body()).contains("reviewer_not_eligible");
    }

    static int pamctl(StringWriter out, StringWriter err, String... args) {
        return Pamctl.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @Test
    void pamctlAsReviewerThroughTheGatewayAndAsOperatorOnLoopback() throws Exception {
        RouteConf route = fx.route("dec-pamctl", CONF);
        String body = ApprovalFixture.chat("secret-llm");
        String id = hold(route, "bob", body);
        String gatewayUrl = fx.gateway.url() + "/pam/approvals";
        System.setProperty("PAM_REVIEWER_TOKEN_TEST", fx.token("ravi"));
        System.setProperty("PAM_CONTROL_TOKEN", fx.runner.controlAuthorization().substring(7));
        System.setProperty("PAM_CONTROL_PORT", Integer.toString(fx.runner.controlPort()));
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            assertThat(pamctl(out, err, "approvals", "list", "--url", gatewayUrl, "--token-env", "PAM_REVIEWER_TOKEN_TEST"))
                    .as(err.toString()).isZero();
            assertThat(out.toString()).contains(id).contains("bob").contains("secret-llm").contains("sensitive");

            out = new StringWriter();
            assertThat(pamctl(out, err, "approvals", "show", id, "--url", gatewayUrl, "--token-env", "PAM_REVIEWER_TOKEN_TEST")).isZero();
            assertThat(out.toString()).contains("\"prompt_excerpt\"");

            out = new StringWriter();
            err = new StringWriter();
            assertThat(pamctl(out, err, "approvals", "approve", id, "--reason", "ops on loopback")).as("operator cannot decide").isEqualTo(1);
            assertThat(err.toString()).contains("reviewer_identity_required");
            out = new StringWriter();
            assertThat(pamctl(out, err, "approvals", "list")).as("operator lists on loopback").isZero();
            assertThat(out.toString()).contains(id);

            out = new StringWriter();
            err = new StringWriter();
            assertThat(pamctl(out, err, "approvals", "approve", id, "--reason", "reviewed", "--url", gatewayUrl,
                    "--token-env", "PAM_REVIEWER_TOKEN_TEST")).as(err.toString()).isZero();
            assertThat(out.toString()).contains("\"approved\"");
            err = new StringWriter();
            assertThat(pamctl(new StringWriter(), err, "approvals", "deny", id, "--reason", "changed my mind", "--url", gatewayUrl,
                    "--token-env", "PAM_REVIEWER_TOKEN_TEST")).isEqualTo(1);
            assertThat(err.toString()).contains("409 approval_already_decided");
        } finally {
            System.clearProperty("PAM_REVIEWER_TOKEN_TEST");
            System.clearProperty("PAM_CONTROL_TOKEN");
            System.clearProperty("PAM_CONTROL_PORT");
        }
        assertThat(fx.call(route, "bob", body).status()).isEqualTo(200);
    }
}
