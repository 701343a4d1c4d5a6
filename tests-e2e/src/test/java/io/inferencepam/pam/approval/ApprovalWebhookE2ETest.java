package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Webhook notifications against a real local HTTP receiver: generic JSON (signed) and Slack
 * payloads for new and decided approvals, retries with backoff, and a receiver that never
 * answers well: the approval is not affected, the failure is in the metrics and in the approval.
 */
class ApprovalWebhookE2ETest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SECRET = "whsec-test-0123456789abcdef";
    static WebhookReceiver receiver;
    static ApprovalFixture fx;

    @BeforeAll
    static void start() throws Exception {
        receiver = new WebhookReceiver();
        receiver.always("/dead", 500);
        fx = new ApprovalFixture(Map.of(
                "PAM_APPROVAL_WEBHOOK_REVIEWERS_JSON", "json " + receiver.url("/hook"),
                "PAM_APPROVAL_WEBHOOK_REVIEWERS_JSON_SECRET", SECRET,
                "PAM_APPROVAL_WEBHOOK_REVIEWERS_SLACK", "slack " + receiver.url("/slack"),
                "PAM_APPROVAL_WEBHOOK_DEAD", "json " + receiver.url("/dead"),
                "PAM_APPROVAL_WEBHOOK_BACKOFF_MS", "100",
                "PAM_APPROVAL_WEBHOOK_ATTEMPTS", "4"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    static RouteConf route(String id, String webhooks) {
        return fx.route(id, "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"],"
                + "\"wait_seconds\":0,\"notify\":" + webhooks + "}");
    }

    static List<WebhookReceiver.Received> await(String path, String id, int count) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        List<WebhookReceiver.Received> got = receiver.at(path, id);
        while (got.size() < count && System.nanoTime() < end) {
            Thread.sleep(20);
            got = receiver.at(path, id);
        }
        assertThat(got).as(path + " deliveries for " + id).hasSizeGreaterThanOrEqualTo(count);
        return got;
    }

    static double metric(String series) throws Exception {
        String text = fx.control("GET", "/metrics", null, null).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    static String body(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"summarise <@U123|everyone> for "
                + "carol.secret@example.com \\\"" + System.nanoTime() + "\\\"\"}]}";
    }

    @Test
    void reviewersAreNotifiedInJsonSignedAndInSlackFormatAndAgainWhenDecided() throws Exception {
        RouteConf route = route("hook-basic", "[\"reviewers-json\",\"reviewers-slack\"]");
        String body = body("secret-llm");
        String id = ApprovalFixture.heldId(fx.call(route, "bob", body));

        WebhookReceiver.Received json = await("/hook", id, 1).get(0);
        assertThat(json.header("X-PAM-Event")).isEqualTo("approval.pending");
        String expected = "sha256=" + hmac(json.body());
        assertThat(json.header("X-PAM-Signature")).as("signed with the webhook secret").isEqualTo(expected);
        JsonNode j = JSON.readTree(json.body());
        assertThat(j.path("event").asText()).isEqualTo("approval.pending");
        JsonNode a = j.path("approval");
        assertThat(a.path("id").asText()).isEqualTo(id);
        assertThat(a.path("state").asText()).isEqualTo("pending");
        assertThat(a.path("requester").path("username").asText()).isEqualTo("bob");
        assertThat(a.path("model").asText()).isEqualTo("secret-llm");
        assertThat(a.path("rules").toString()).contains("sensitive");
        assertThat(a.path("status_url").asText()).isEqualTo("/pam/approvals/" + id);
        assertThat(a.path("prompt_excerpt").asText()).contains("[email]").doesNotContain("carol.secret@example.com");
        assertThat(json.body()).doesNotContain(fx.token("bob")).doesNotContain("Bearer");

        WebhookReceiver.Received slack = await("/slack", id, 1).get(0);
        JsonNode s = JSON.readTree(slack.body());
        assertThat(s.path("text").asText()).contains("Approval needed").contains("*bob*").contains("`secret-llm`");
        assertThat(s.path("blocks").size()).isEqualTo(3);
        assertThat(slack.body()).doesNotContain("carol.secret@example.com").contains("&lt;@U123|everyone&gt;")
                .doesNotContain("<@U123");
        assertThat(slack.header("X-PAM-Signature")).as("Slack payloads are not signed").isNull();

        fx.decide("rita", id, "deny", "customer data");
        List<WebhookReceiver.Received> all = await("/hook", id, 2);
        JsonNode decided = JSON.readTree(all.get(all.size() - 1).body());
        assertThat(decided.path("event").asText()).isEqualTo("approval.decided");
        assertThat(decided.path("decision").path("state").asText()).isEqualTo("denied");
        assertThat(decided.path("decision").path("by").asText()).isEqualTo("rita");
        assertThat(decided.path("decision").path("reason").asText()).isEqualTo("customer data");
        List<WebhookReceiver.Received> slacks = await("/slack", id, 2);
        assertThat(JSON.readTree(slacks.get(slacks.size() - 1).body()).path("text").asText()).contains("Denied by *rita*");
    }

    @Test
    void deliveriesAreRetriedWithBackoffUntilTheReceiverAccepts() throws Exception {
        double retriedBefore = metric("pam_approval_webhook_total{webhook=\"reviewers-json\",result=\"retried\"}");
        receiver.script("/hook", 503, 503);
        String id = ApprovalFixture.heldId(fx.call(route("hook-retry", "[\"reviewers-json\"]"), "bob", body("secret-llm")));
        List<WebhookReceiver.Received> tries = await("/hook", id, 3);
        assertThat(tries).extracting(r -> r.header("X-PAM-Delivery")).as("one delivery id").containsOnly(tries.get(0).header("X-PAM-Delivery"));
        long gap1 = TimeUnit.NANOSECONDS.toMillis(tries.get(1).atNanos() - tries.get(0).atNanos());
        long gap2 = TimeUnit.NANOSECONDS.toMillis(tries.get(2).atNanos() - tries.get(1).atNanos());
        assertThat(gap1).isGreaterThanOrEqualTo(90);
        assertThat(gap2).as("backoff doubles").isGreaterThanOrEqualTo(190);
        Thread.sleep(300);
        assertThat(metric("pam_approval_webhook_total{webhook=\"reviewers-json\",result=\"retried\"}") - retriedBefore).isEqualTo(2);
        JsonNode shown = fx.approvals("rita", "GET", "/" + id, null).json();
        assertThat(shown.path("notifications").path("reviewers-json").asText()).isEqualTo("pending delivered after 3 attempts");
    }

    @Test
    void aFailedDeliveryNeverLosesTheApproval() throws Exception {
        double failedBefore = metric("pam_approval_webhook_total{webhook=\"dead\",result=\"failed\"}");
        RouteConf route = route("hook-dead", "[\"dead\",\"ghost\"]");
        String body = body("secret-llm");
        String id = ApprovalFixture.heldId(fx.call(route, "bob", body));
        await("/dead", id, 4);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (metric("pam_approval_webhook_total{webhook=\"dead\",result=\"failed\"}") == failedBefore && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertThat(metric("pam_approval_webhook_total{webhook=\"dead\",result=\"failed\"}") - failedBefore).isEqualTo(1);
        assertThat(metric("pam_approval_webhook_total{webhook=\"ghost\",result=\"failed\"}")).as("not configured").isPositive();
        Thread.sleep(200);
        assertThat(receiver.at("/dead", id)).as("4 attempts, then it stops").hasSize(4);
        JsonNode shown = fx.approvals("rita", "GET", "/" + id, null).json();
        assertThat(shown.path("state").asText()).isEqualTo("pending");
        assertThat(shown.path("notifications").path("dead").asText()).isEqualTo("pending failed after 4 attempts: HTTP 500");
        assertThat(shown.path("notifications").path("ghost").asText()).isEqualTo("failed: not configured");
        assertThat(fx.approvals("rita", "GET", "", null).json().toString()).contains(id);
        fx.approve("rita", id);
        GatewayResult run = fx.call(route, "bob", body);
        assertThat(run.status()).isEqualTo(200);
        assertThat(fx.runner.log()).doesNotContain(receiver.url("/dead")).as("webhook URLs are secrets: never logged");
    }

    static String hmac(String body) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
    }
}
