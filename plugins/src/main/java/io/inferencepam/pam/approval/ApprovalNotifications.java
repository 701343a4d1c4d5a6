package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells reviewers: {@code approval.pending} when a call opens an approval, {@code approval.decided}
 * when it is approved or denied (so a chat channel never shows a request as still waiting after
 * someone decided it elsewhere). Two payloads: a generic JSON document and a Slack-compatible one
 * ({@code text} + {@code blocks}). Both carry identity, model, rules, expiry and the prompt excerpt
 * masked by pam-mask's detectors — never the raw body or a credential.
 */
final class ApprovalNotifications {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalNotifications.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int SLACK_EXCERPT_CHARS = 600;

    private final Function<String, Optional<String>> settings;
    private final WebhookNotifier notifier;
    private final PromptExcerpt excerpt;
    private final Executor blocking;
    private final Supplier<ApprovalStore> store;
    private final Clock clock;
    private final ApprovalAudit audit;
    private final Map<String, Webhook.Result> webhooks = new ConcurrentHashMap<>();

    ApprovalNotifications(Function<String, Optional<String>> settings, WebhookNotifier notifier, PromptExcerpt excerpt,
                          Executor blocking, Supplier<ApprovalStore> store, Clock clock, ApprovalAudit audit) {
        this.audit = audit;
        this.settings = settings;
        this.notifier = notifier;
        this.excerpt = excerpt;
        this.blocking = blocking;
        this.store = store;
        this.clock = clock;
    }

    /** Resolves the webhooks a route names; logs (once per name) the ones that are not configured. */
    void check(List<String> names) {
        for (String n : names) {
            webhook(n);
        }
    }

    private Webhook.Result webhook(String name) {
        return webhooks.computeIfAbsent(name, n -> {
            Webhook.Result r = Webhook.resolve(n, settings);
            if (r.webhook().isEmpty()) {
                LOG.error("approval webhook {} cannot be used: {}; its notifications fail (approvals are not affected)", n, r.problem());
            }
            return r;
        });
    }

    /** A new approval: {@code fields} as parked, with id, times and state. */
    void pending(List<String> names, ApprovalView approval, String statusUrl) {
        send(names, approval, "approval.pending", statusUrl, null, null, null);
    }

    void decided(List<String> names, ApprovalView approval, String statusUrl, String state, String by, String reason) {
        send(names, approval, "approval.decided", statusUrl, state, by, reason);
    }

    private void send(List<String> names, ApprovalView approval, String event, String statusUrl, String state, String by,
                      String reason) {
        if (names.isEmpty()) {
            return;
        }
        String id = approval.text("id");
        String requestId = approval.text("request_id");
        long now = clock.millis();
        String prompt = excerpt.of(approval.body());
        for (String name : names) {
            Webhook.Result r = webhook(name);
            if (r.webhook().isEmpty()) {
                notifier.unconfigured(name);
                note(id, requestId, name, event, null);
                continue;
            }
            Webhook hook = r.webhook().get();
            byte[] body = (hook.format() == Webhook.Format.SLACK
                    ? slack(approval, now, prompt, statusUrl, event, state, by, reason)
                    : json(approval, now, prompt, statusUrl, event, state, by, reason)).getBytes(StandardCharsets.UTF_8);
            notifier.send(hook, event, body, outcome -> note(id, requestId, name, event, outcome));
        }
    }

    /**
     * Keeps a delivery's outcome with the approval (for reviewers) and in the audit trail
     * ({@code notified}); {@code outcome} null: the webhook is not configured.
     */
    private void note(String id, String requestId, String webhook, String event, String delivery) {
        String outcome = delivery == null ? "failed: not configured" : delivery;
        String kept = delivery == null ? outcome : event.substring("approval.".length()) + " " + delivery;
        try {
            blocking.execute(() -> {
                try {
                    audit.notified(id, requestId, webhook, event, outcome);
                } catch (RuntimeException e) {
                    LOG.warn("approval {}: notified event not recorded: {}", id, e.getClass().getSimpleName());
                }
                try {
                    store.get().note(id, webhook, kept);
                } catch (RuntimeException e) {
                    // the outcome is in the metrics and the log; the approval itself is untouched
                }
            });
        } catch (RuntimeException rejected) {
            // same
        }
    }

    static String json(ApprovalView a, long now, String prompt, String statusUrl, String event, String state, String by,
                       String reason) {
        ObjectNode root = JSON.createObjectNode();
        root.put("event", event).put("sent_at", Instant.ofEpochMilli(now).toString());
        ObjectNode ap = a.summary(now);
        ap.put("prompt_excerpt", prompt).put("status_url", statusUrl);
        root.set("approval", ap);
        if (state != null) {
            root.putObject("decision").put("state", state).put("by", by).put("reason", reason);
        }
        return root.toString();
    }

    static String slack(ApprovalView a, long now, String prompt, String statusUrl, String event, String state, String by,
                        String reason) {
        String id = a.text("id");
        String who = a.text("username").isEmpty() ? a.text("sub") : a.text("username");
        String rules = String.join(", ", names(a.json("rules")));
        String headline;
        if (state == null) {
            headline = ":hourglass_flowing_sand: Approval needed: *" + esc(who) + "* wants to call `" + esc(a.text("model"))
                    + "` on route `" + esc(a.text("route")) + "` (hold rule " + esc(rules) + "), " + a.number("required")
                    + " approval" + (a.number("required") == 1 ? "" : "s") + " needed, expires "
                    + Instant.ofEpochMilli(a.number("expires_ms")) + ".";
        } else {
            headline = ("approved".equals(state) ? ":white_check_mark: Approved" : ":no_entry: Denied") + " by *" + esc(by)
                    + "*: " + esc(who) + " → `" + esc(a.text("model")) + "` (" + esc(reason) + ").";
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("text", headline);
        ArrayNode blocks = root.putArray("blocks");
        blocks.addObject().put("type", "section").putObject("text").put("type", "mrkdwn").put("text", headline);
        if (state == null && !prompt.isEmpty()) {
            String shown = prompt.length() > SLACK_EXCERPT_CHARS ? prompt.substring(0, SLACK_EXCERPT_CHARS) + "…" : prompt;
            blocks.addObject().put("type", "section").putObject("text").put("type", "mrkdwn")
                    .put("text", "```" + esc(shown).replace("`", "'") + "```");
        }
        String how = state == null ? "`pamctl approvals show " + id + "` · `pamctl approvals approve " + id + " --reason …`"
                : "state: " + state;
        blocks.addObject().put("type", "context").putArray("elements").addObject().put("type", "mrkdwn")
                .put("text", "Approval `" + id + "` · " + how + " · " + esc(statusUrl));
        return root.toString();
    }

    /** Slack mrkdwn control characters: a prompt or a name must not become a link or a mention. */
    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static List<String> names(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }
}
