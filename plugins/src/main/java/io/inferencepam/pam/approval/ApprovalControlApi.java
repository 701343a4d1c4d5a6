package io.inferencepam.pam.approval;

import static io.inferencepam.runner.spi.ControlApi.Response.error;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Approvals on the runner's loopback control API (behind its bearer token, like every control
 * endpoint):
 * <ul>
 *   <li>{@code GET  /v1/approvals} pending approvals the caller may decide ({@code ?mine=true}: the
 *       caller's own open approvals);</li>
 *   <li>{@code GET  /v1/approvals/{id}} one approval (prompt excerpt masked);</li>
 *   <li>{@code POST /v1/approvals/{id}/approve} and {@code .../deny}, body {@code {"reason": "..."}}.</li>
 * </ul>
 * Who is asking comes from a {@link ReviewerTickets} ticket, minted by {@code pam-approval-review}
 * on the APISIX route that exposes this API to people. Without a ticket the caller is an operator
 * holding the control token: they may list and read, but not decide, because a decision needs a
 * person who is not the requester and is in the route's reviewer groups now.
 */
final class ApprovalControlApi {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalControlApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PATH = "/v1/approvals";
    static final int MAX_REASON_CHARS = 500;
    static final int MAX_LIST = 500;

    private final PluginEnvironment env;
    private final Supplier<ApprovalStore> store;
    private final ReviewerTickets tickets;
    private final PromptExcerpt excerpt;
    private final ApprovalNotifications notifications;
    private final Metrics.Counter decisions;
    private final ApprovalAudit audit;

    private ApprovalControlApi(PluginEnvironment env, Supplier<ApprovalStore> store, ReviewerTickets tickets,
                               ApprovalNotifications notifications, PromptExcerpt excerpt, ApprovalAudit audit) {
        this.env = env;
        this.audit = audit;
        this.notifications = notifications;
        this.excerpt = excerpt;
        this.store = store;
        this.tickets = tickets;
        this.decisions = env.metrics().counter("pam_approval_decisions_total",
                "decisions taken through the control API, by result", "result");
    }

    static void register(PluginEnvironment env, Supplier<ApprovalStore> store, ReviewerTickets tickets,
                         ApprovalNotifications notifications, PromptExcerpt excerpt, ApprovalAudit audit) {
        ApprovalControlApi api = new ApprovalControlApi(env, store, tickets, notifications, excerpt, audit);
        env.control().route("GET", PATH, api::handle);
        env.control().route("GET", PATH + "/*", api::handle);
        env.control().route("POST", PATH + "/*", api::handle);
    }

    /** Who asks: a person (ticket) or the operator (control token only). */
    private record Caller(Optional<Principal> person) {
        boolean operator() {
            return person.isEmpty();
        }
    }

    private CompletionStage<ControlApi.Response> handle(ControlApi.Request req) {
        Caller caller;
        Optional<String> ticket = req.headers().first(ReviewerTickets.HEADER);
        if (ticket.isPresent()) {
            Optional<Principal> p = tickets.redeem(ticket.get().trim());
            if (p.isEmpty()) {
                return done(error(401, "invalid_reviewer_ticket", "the reviewer ticket is unknown, expired or already used"));
            }
            caller = new Caller(p);
        } else {
            caller = new Caller(Optional.empty());
        }
        String rest = req.path().length() > PATH.length() ? req.path().substring(PATH.length() + 1) : "";
        String[] parts = rest.isEmpty() ? new String[0] : rest.split("/", -1);
        if (parts.length > 0 && !ApprovalKeys.isId(parts[0])) {
            return done(error(404, "approval_not_found", "no such approval"));
        }
        CompletableFuture<ControlApi.Response> out = new CompletableFuture<>();
        Runnable work;
        if (parts.length == 0 && "GET".equals(req.method())) {
            work = () -> out.complete(list(caller, "true".equals(req.queryParam("mine", "")), limit(req)));
        } else if (parts.length == 1 && "GET".equals(req.method())) {
            work = () -> out.complete(show(caller, parts[0]));
        } else if (parts.length == 2 && "POST".equals(req.method()) && ("approve".equals(parts[1]) || "deny".equals(parts[1]))) {
            Optional<String> reason = reason(req);
            if (reason.isEmpty()) {
                return done(error(400, "reason_required", "send {\"reason\": \"...\"}: 1 to " + MAX_REASON_CHARS
                        + " characters, no control characters"));
            }
            work = () -> out.complete(decide(caller, parts[0], "approve".equals(parts[1]), reason.get()));
        } else {
            return done(error(404, "not_found", "unknown approvals operation"));
        }
        try {
            env.blockingExecutor().execute(() -> {
                try {
                    work.run();
                } catch (RuntimeException e) {
                    LOG.warn("approvals API {} {} failed: {}", req.method(), PATH, e.getClass().getSimpleName());
                    out.complete(error(503, "approval_store_unavailable", "the approval store is unavailable"));
                }
            });
        } catch (RuntimeException rejected) {
            return done(error(503, "busy", "the runner is busy; try again"));
        }
        return out;
    }

    private ControlApi.Response list(Caller caller, boolean mine, int limit) {
        long now = env.clock().millis();
        ApprovalStore s = store.get();
        ObjectNode resp = JSON.createObjectNode();
        ArrayNode items = resp.putArray("approvals");
        if (mine) {
            if (caller.operator()) {
                return error(400, "reviewer_identity_required", "mine=true needs a person's identity (the approvals route)");
            }
            for (String id : s.openIds(ApprovalKeys.principalTag(caller.person().get()), now)) {
                s.get(id).map(ApprovalView::new).filter(v -> v.requestedBy(caller.person().get()))
                        .ifPresent(v -> items.add(v.summary(now)));
            }
            return ControlApi.Response.json(200, resp.toString());
        }
        for (String id : s.pendingIds(now, limit)) {
            Optional<ApprovalView> v = s.get(id).map(ApprovalView::new);
            if (v.isEmpty() || !"pending".equals(v.get().state(now))) {
                s.unlist(id);
                continue;
            }
            if (caller.operator() || (v.get().eligible(caller.person().get()) && !v.get().requestedBy(caller.person().get()))) {
                items.add(v.get().summary(now));
            }
        }
        return ControlApi.Response.json(200, resp.toString());
    }

    private ControlApi.Response show(Caller caller, String id) {
        long now = env.clock().millis();
        Optional<ApprovalView> v = store.get().get(id).map(ApprovalView::new);
        if (v.isEmpty()) {
            return error(404, "approval_not_found", "no such approval");
        }
        ApprovalView.Reader reader;
        if (caller.operator()) {
            reader = ApprovalView.Reader.OPERATOR;
        } else if (v.get().requestedBy(caller.person().get())) {
            reader = ApprovalView.Reader.REQUESTER;
        } else if (v.get().eligible(caller.person().get())) {
            reader = ApprovalView.Reader.REVIEWER;
        } else {
            // neither theirs nor theirs to decide: they learn nothing, not even that it exists
            return error(404, "approval_not_found", "no such approval");
        }
        return ControlApi.Response.json(200, v.get().detail(now, reader, excerpt).toString());
    }

    private ControlApi.Response decide(Caller caller, String id, boolean approve, String reason) {
        if (caller.operator()) {
            return error(403, "reviewer_identity_required", "decisions are taken by people: use the approvals route "
                    + "(pam-auth + pam-approval-review), not the control token alone");
        }
        Principal p = caller.person().get();
        String name = p.username().isEmpty() ? p.subject() : p.username();
        ApprovalStore.Decided d = store.get().decide(id, approve,
                new ApprovalStore.Reviewer(ApprovalKeys.principalKey(p), p.subject(), name, p.groups()), reason);
        decisions.inc(d.result().name().toLowerCase(java.util.Locale.ROOT));
        LOG.info("approval {} {} by {}: {}", id, approve ? "approve" : "deny", name, d.result());
        ObjectNode ok = JSON.createObjectNode().put("id", id).put("state", d.state()).put("approvals", d.approvals())
                .put("required", d.required());
        boolean taken = d.result() == ApprovalStore.DecideResult.APPROVED || d.result() == ApprovalStore.DecideResult.DENIED
                || d.result() == ApprovalStore.DecideResult.RECORDED;
        if (taken) {
            Optional<ApprovalView> v = view(id);
            try {
                audit.decided(id, v.map(x -> x.text("request_id")).orElse(""), p, approve, reason, d.approvals(), d.required(),
                        d.state());
            } catch (RuntimeException e) {
                LOG.warn("approval {}: decided event not recorded: {}", id, e.getClass().getSimpleName());
            }
            if (d.result() == ApprovalStore.DecideResult.DENIED) {
                try {
                    store.get().expiryRecorded(id); // denied: it will not expire, the sweep can forget it
                } catch (RuntimeException e) {
                    // the sweep finds it denied at its expiry and records nothing
                }
            }
            if (d.result() != ApprovalStore.DecideResult.RECORDED) {
                v.ifPresent(x -> announce(x, id, d.state(), name, reason));
            }
        }
        return switch (d.result()) {
            case APPROVED, RECORDED, DENIED -> ControlApi.Response.json(200, ok.toString());
            case NOT_FOUND -> error(404, "approval_not_found", "no such approval");
            case EXPIRED -> error(409, "approval_expired", "the approval expired before it was decided");
            case DECIDED -> error(409, "approval_already_decided", "the approval is already " + d.state());
            case SELF -> error(403, "self_approval_forbidden", "nobody decides their own request");
            case TWICE -> error(409, "already_approved_by_you", "you already approved it; it needs " + d.required()
                    + " different reviewers");
            case NOT_ELIGIBLE -> error(403, "reviewer_not_eligible", "you are not in a reviewer group of the route that held it");
        };
    }

    /** The approval as it is after the decision; empty if it cannot be read (the decision stands). */
    private Optional<ApprovalView> view(String id) {
        try {
            return store.get().get(id).map(ApprovalView::new);
        } catch (RuntimeException e) {
            LOG.warn("approval {} decided, could not be read back: {}", id, e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** Tells the route's webhooks how it was decided; never fails the decision. */
    private void announce(ApprovalView v, String id, String state, String by, String reason) {
        try {
            String template = v.text("status_url_template");
            notifications.decided(v.webhooks(), v, template.isEmpty() ? "" : template.replace("{id}", id), state, by, reason);
        } catch (RuntimeException e) {
            LOG.warn("approval {} decided, webhook notification not sent: {}", id, e.getClass().getSimpleName());
        }
    }

    private static Optional<String> reason(ControlApi.Request req) {
        try {
            JsonNode body = JSON.readTree(req.body().toByteArray());
            String r = body == null ? "" : body.path("reason").asText("").strip();
            if (r.isEmpty() || r.length() > MAX_REASON_CHARS || r.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                return Optional.empty();
            }
            return Optional.of(r);
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    private static int limit(ControlApi.Request req) {
        try {
            return Math.max(1, Math.min(MAX_LIST, Integer.parseInt(req.queryParam("limit", "100"))));
        } catch (NumberFormatException e) {
            return 100;
        }
    }

    private static CompletionStage<ControlApi.Response> done(ControlApi.Response r) {
        return CompletableFuture.completedFuture(r);
    }
}
