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

    /**
     * A new approval holds the call {@code requestId}.
     *
     * @return whether the trail kept the event (false also when this runner does not record)
     */
    boolean held(String approvalId, String requestId, String routeId, Principal p, String model, List<String> rules,
                 String fingerprint, long expiresMillis, int required, long liveWaitSeconds) {
        Map<String, Object> f = links(approvalId, requestId, approvalId + ":held");
        f.put("route_id", routeId);
        f.put("principal", principal(p));
        f.put("model", model);
        f.put("rules", rules);
        f.put("fingerprint", fingerprint);
        f.put("expires_at", Instant.ofEpochMilli(expiresMillis).toString());
        f.put("required", required);
        f.put("live_wait_seconds", liveWaitSeconds);
        return append("held", f);
    }

    /**
     * The {@code held} event of an approval whose opening runner stopped before it recorded it
     * (or may have: it is then in the trail twice, with one {@code event_id}), written by the
     * sweep from the approval as stored. {@code live_wait_seconds} is not stored: null;
     * {@code recovered}: true.
     */
    boolean heldRecovered(String approvalId, ApprovalView a) {
        Map<String, Object> f = links(approvalId, a.text("request_id"), approvalId + ":held");
        f.put("route_id", a.text("route"));
        f.put("principal", principal(a));
        f.put("model", a.text("model"));
        List<String> rules = new java.util.ArrayList<>();
        a.json("rules").forEach(r -> rules.add(r.asText()));
        f.put("rules", rules);
        f.put("fingerprint", a.text("fingerprint"));
        f.put("expires_at", Instant.ofEpochMilli(a.number("expires_ms")).toString());
        f.put("required", a.number("required"));
        f.put("live_wait_seconds", null);
        f.put("recovered", true);
        return append("held", f);
    }

    /** One webhook delivery's outcome ({@code delivered after 1 attempt}, {@code failed after 5 attempts: HTTP 500}). */
    void notified(String approvalId, String requestId, String webhook, String webhookEvent, String outcome) {
        Map<String, Object> f = links(approvalId, requestId, approvalId + ":notified:" + webhookEvent + ":" + webhook);
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
        // a decision's number: approvals are counted (the n-th approval); a denial is final, there is one
        Map<String, Object> f = links(approvalId, requestId, approvalId + ":decided:" + (approve ? Integer.toString(approvals) : "deny"));
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
        Map<String, Object> f = links(approvalId, heldRequestId, approvalId + ":used"); // used once: live or by a repeat
        f.put("call_request_id", callRequestId);
        f.put("approved_by", ApprovalPlugin.reviewerNames(approvalsJson));
        append(live ? "resumed" : "consumed", f);
    }

    /** A call refused because its approval was denied: the held call itself ({@code live}) or a later repeat. */
    void denied(boolean live, String approvalId, String heldRequestId, String callRequestId) {
        // one per refused call: named by that call (a random suffix when the route fetched no request id)
        String event = live ? "denied_live" : "denied_on_repeat";
        String call = callRequestId == null || callRequestId.isEmpty() ? "-" + java.util.UUID.randomUUID() : callRequestId;
        Map<String, Object> f = links(approvalId, heldRequestId, approvalId + ":" + event + ":" + call);
        f.put("call_request_id", callRequestId);
        append(event, f);
    }

    /**
     * The approval's time ran out before it was used: still {@code pending} (nobody decided) or
     * {@code approved} and never used. {@code approval} is empty when the approval itself was no
     * longer readable (its keep time passed before any runner could record the expiry).
     */
    boolean expired(String approvalId, Optional<ApprovalView> approval) {
        Map<String, Object> f = links(approvalId, approval.map(a -> a.text("request_id")).orElse(""), approvalId + ":expired");
        if (approval.isPresent()) {
            ApprovalView a = approval.get();
            f.put("route_id", a.text("route"));
            f.put("principal", principal(a));
            f.put("model", a.text("model"));
            f.put("state_at_expiry", a.text("state"));
            f.put("approvals", a.json("approvals").size());
            f.put("required", a.number("required"));
            f.put("expires_at", Instant.ofEpochMilli(a.number("expires_ms")).toString());
        } else {
            f.put("state_at_expiry", null);
        }
        return append("expired", f);
    }

    /** Whether this runner records approval events (its audit trail exists or can start). */
    boolean records() {
        return trail.get().isPresent();
    }

    private boolean append(String event, Map<String, Object> fields) {
        Optional<AuditTrail> t = trail.get();
        if (t.isEmpty()) {
            events.inc(event, "untracked");
            return false;
        }
        boolean kept = t.get().append(new AuditEvent(KIND, event, clock.millis(), fields));
        events.inc(event, kept ? "kept" : "lost");
        return kept;
    }

    /**
     * {@code event_id}: the step's own name, the same whoever writes it — approval id, step, and
     * what makes the step one of several (the n-th approval, the webhook, the refused call). A
     * step written twice (a runner stopped between writing it and recording that it had, and the
     * sweep wrote it again) has one event id twice: readers show it once.
     */
    private static Map<String, Object> links(String approvalId, String requestId, String eventId) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("approval_id", approvalId);
        f.put("event_id", eventId);
        f.put("request_id", requestId == null || requestId.isEmpty() ? null : requestId);
        return f;
    }

    private static Map<String, Object> principal(ApprovalView a) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("issuer", a.text("iss"));
        p.put("subject", a.text("sub"));
        p.put("username", a.text("username"));
        p.put("client_id", a.text("client"));
        return p;
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
