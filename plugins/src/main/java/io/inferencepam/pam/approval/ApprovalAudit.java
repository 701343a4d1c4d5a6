package io.inferencepam.pam.approval;

import io.inferencepam.pam.core.AuditEvent;
import io.inferencepam.pam.core.AuditTrail;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.Metrics;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The approval's own steps in the pam-record trail ({@code kind: "approval"}): held, notified,
 * decided, resumed (live) or consumed (a later repeat), denied_live or denied_on_repeat, expired.
 * Every event names the approval ({@code approval_id}) and the call that opened it
 * ({@code request_id}, nginx's request id: known when the route fetches it, as pam-record does), so
 * {@code pamctl audit search --approval <id>} tells the whole story next to the call records.
 * Never a body, a credential or a webhook URL (Slack's carry a token): webhooks by name only.
 *
 * <p>Called off the event loop only (the trail may start pam-record's service on first use).
 * Without a trail (the runner does not record) every method does nothing.
 */
class ApprovalAudit {
    static final String KIND = "approval";

    private final Supplier<Optional<AuditTrail>> trail;
    private final Clock clock;
    private final Metrics.Counter events;

    ApprovalAudit(Supplier<Optional<AuditTrail>> trail, Clock clock, Metrics metrics) {
        this.trail = trail;
        this.clock = clock;
        this.events = metrics.counter("pam_approval_audit_events_total",
                "approval events handed to the audit trail (result: kept, lost, untracked = this runner does not record)",
                "event", "result");
    }

    /** A runner with no audit trail: nothing is recorded. */
    static ApprovalAudit none(Metrics metrics) {
        return new ApprovalAudit(Optional::empty, Clock.systemUTC(), metrics);
    }

    /** A new approval holds the call {@code requestId}. */
    void held(String approvalId, String requestId, String routeId, Principal p, String model, List<String> rules,
              String fingerprint, long expiresMillis, int required, long liveWaitSeconds) {
        Map<String, Object> f = links(approvalId, requestId);
        f.put("route_id", routeId);
        f.put("principal", principal(p));
        f.put("model", model);
        f.put("rules", rules);
        f.put("fingerprint", fingerprint);
        f.put("expires_at", Instant.ofEpochMilli(expiresMillis).toString());
        f.put("required", required);
        f.put("live_wait_seconds", liveWaitSeconds);
        append("held", f);
    }

    /** One webhook delivery's outcome ({@code delivered after 1 attempt}, {@code failed after 5 attempts: HTTP 500}). */
    void notified(String approvalId, String requestId, String webhook, String webhookEvent, String outcome) {
        Map<String, Object> f = links(approvalId, requestId);
        f.put("webhook", webhook);
        f.put("webhook_event", webhookEvent);
        f.put("delivered", outcome.startsWith("delivered"));
        f.put("outcome", outcome);
        append("notified", f);
    }

    /**
     * One reviewer's decision that the store accepted.
     *
     * @param approvals the approvals counted so far (after this one)
     * @param state     the approval's state after it ({@code pending} while more approvals are needed)
     */
    void decided(String approvalId, String requestId, Principal reviewer, boolean approve, String reason, int approvals,
                 int required, String state) {
        Map<String, Object> f = links(approvalId, requestId);
        f.put("reviewer", principal(reviewer));
        f.put("decision", approve ? "approve" : "deny");
        f.put("reason", reason);
        f.put("approvals", approvals);
        f.put("required", required);
        f.put("state", state);
        append("decided", f);
    }

    /**
     * The approved call ran: {@code resumed} when it was the held call itself, answered live;
     * {@code consumed} when an identical repeat ({@code callRequestId}) used it later.
     */
    void used(boolean live, String approvalId, String heldRequestId, String callRequestId, String approvalsJson) {
        Map<String, Object> f = links(approvalId, heldRequestId);
        f.put("call_request_id", callRequestId);
        f.put("approved_by", ApprovalPlugin.reviewerNames(approvalsJson));
        append(live ? "resumed" : "consumed", f);
    }

    /** A call refused because its approval was denied: the held call itself ({@code live}) or a later repeat. */
    void denied(boolean live, String approvalId, String heldRequestId, String callRequestId) {
        Map<String, Object> f = links(approvalId, heldRequestId);
        f.put("call_request_id", callRequestId);
        append(live ? "denied_live" : "denied_on_repeat", f);
    }

    /**
     * The approval's time ran out before it was used: still {@code pending} (nobody decided) or
     * {@code approved} and never used. {@code approval} is empty when the approval itself was no
     * longer readable (its keep time passed before any runner could record the expiry).
     */
    void expired(String approvalId, Optional<ApprovalView> approval) {
        Map<String, Object> f = links(approvalId, approval.map(a -> a.text("request_id")).orElse(""));
        if (approval.isPresent()) {
            ApprovalView a = approval.get();
            f.put("route_id", a.text("route"));
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("issuer", a.text("iss"));
            p.put("subject", a.text("sub"));
            p.put("username", a.text("username"));
            p.put("client_id", a.text("client"));
            f.put("principal", p);
            f.put("model", a.text("model"));
            f.put("state_at_expiry", a.text("state"));
            f.put("approvals", a.json("approvals").size());
            f.put("required", a.number("required"));
            f.put("expires_at", Instant.ofEpochMilli(a.number("expires_ms")).toString());
        } else {
            f.put("state_at_expiry", null);
        }
        append("expired", f);
    }

    /** Whether this runner records approval events (its audit trail exists or can start). */
    boolean records() {
        return trail.get().isPresent();
    }

    private void append(String event, Map<String, Object> fields) {
        Optional<AuditTrail> t = trail.get();
        if (t.isEmpty()) {
            events.inc(event, "untracked");
            return;
        }
        events.inc(event, t.get().append(new AuditEvent(KIND, event, clock.millis(), fields)) ? "kept" : "lost");
    }

    private static Map<String, Object> links(String approvalId, String requestId) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("approval_id", approvalId);
        f.put("request_id", requestId == null || requestId.isEmpty() ? null : requestId);
        return f;
    }

    private static Map<String, Object> principal(Principal p) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("issuer", p.issuer());
        o.put("subject", p.subject());
        o.put("username", p.username());
        o.put("client_id", p.clientId());
        return o;
    }

}
