package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.Stop;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * pam-approval for one route conf. After pam-auth (it reads the principal and the model from the
 * call's facts; without them it fails closed), the route's hold rules decide whether the call
 * needs a human. A call no rule matches passes at once, without any I/O. A held call is parked
 * in Redis and answered {@code approval_pending}; once reviewers approve it, the identical call
 * from the same principal runs exactly once (one Lua script decides, atomically).
 */
final class ApprovalPlugin implements Plugin {
    static final String NAME = "pam-approval";
    /** The header that names an approval ({@code apr_…}) or asks for a new one ({@code new}). */
    static final String APPROVAL_HEADER = "x-pam-approval";
    private static final String APPROVAL_VAR = "http_x_pam_approval";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApprovalPlugin.class);
    /** Never parked: credentials the client sent, and the one pam-auth injected for the upstream. */
    private static final Set<String> CREDENTIAL_HEADERS = Set.of("authorization", "proxy-authorization", "cookie",
            "api-key", "x-api-key", APPROVAL_HEADER);

    private final ApprovalConf conf;
    private final Supplier<ApprovalStore> store;
    private final Executor blocking;
    private final Clock clock;
    private final ApprovalMetrics metrics;
    private final SecureRandom random;
    private final LiveHolds live;
    private final ApprovalNotifications notifications;
    private final ApprovalAudit audit;
    private final ApprovalExpiry expiry;
    /** Policy replay: hold rules are decided, no approval is opened (see {@link #onRequest}). */
    private final boolean offline;
    private final Requirements requirements = new Requirements(Set.of(APPROVAL_VAR), true, false);
    private final String ruleIdsAll;

    /**
     * After the live wait the call needs one more store round trip (bounded by the Redis client's
     * 2 s timeout) and the plugins after this one: asked of the runtime on top of the wait.
     */
    static final java.time.Duration RESUME_MARGIN = java.time.Duration.ofSeconds(3);

    ApprovalPlugin(ApprovalConf conf, Supplier<ApprovalStore> store, Executor blocking, Clock clock, ApprovalMetrics metrics,
                   SecureRandom random, LiveHolds live, ApprovalNotifications notifications, ApprovalAudit audit,
                   ApprovalExpiry expiry, boolean offline) {
        this.audit = audit;
        this.expiry = expiry;
        this.offline = offline;
        this.live = live;
        this.notifications = notifications;
        this.conf = conf;
        this.store = store;
        this.blocking = blocking;
        this.clock = clock;
        this.metrics = metrics;
        this.random = random;
        this.ruleIdsAll = String.join(",", conf.rules().stream().map(HoldRule::id).toList());
    }

    @Override
    public Requirements requirements(Phase phase) {
        return phase == Phase.REQUEST ? requirements : Requirements.NONE;
    }

    @Override
    public boolean correlatesPhases() {
        return true;
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext ctx) {
        CallFacts facts = CallFacts.of(ctx);
        Principal principal = facts.principal().orElse(null);
        String model = facts.model().orElse(modelFree(facts) ? "" : null);
        if (principal == null || model == null) {
            facts.decide(new Decision(NAME, "context", Decision.Outcome.ERROR, "no principal or model from pam-auth"));
            metrics.call("context_missing");
            return RequestDecision.stop(ApprovalErrors.CONTEXT_MISSING);
        }
        Optional<String> header = request.var(APPROVAL_VAR).filter(s -> !s.isEmpty());
        List<String> matched = matchedRules(request, facts, principal, model);
        if (matched.isEmpty()) {
            facts.decide(new Decision(NAME, ruleIdsAll, Decision.Outcome.ALLOW, "no hold rule matched"));
            metrics.call("pass");
            return header.isPresent() ? RequestDecision.proceed(STRIP_HEADER) : RequestDecision.proceed();
        }
        String rules = String.join(",", matched);
        if (offline) {
            // Policy replay: the hold rules are decided again; opening or using an approval is not.
            facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "hold rules matched (offline: no approval opened)"));
            return RequestDecision.stop(ApprovalErrors.wouldHold(rules));
        }
        String tag = ApprovalKeys.principalTag(principal);
        ApprovalStore.Mode mode;
        String named = null;
        if (header.isEmpty()) {
            mode = ApprovalStore.Mode.FINGERPRINT;
        } else if ("new".equalsIgnoreCase(header.get().trim())) {
            mode = ApprovalStore.Mode.NEW;
        } else if (ApprovalKeys.isId(header.get().trim())) {
            mode = ApprovalStore.Mode.NAMED;
            named = header.get().trim();
            if (!ApprovalKeys.tagOf(named).orElseThrow().equals(tag)) {
                return refuse(facts, rules, "principal_mismatch", "approval " + named + " is another principal's",
                        ApprovalErrors.notYours());
            }
        } else {
            return refuse(facts, rules, "bad_header", "X-PAM-Approval is malformed", ApprovalErrors.badHeader());
        }
        Body body = request.body().orElse(Body.empty());
        if (body.length() > conf.maxParkedBodyBytes()) {
            return refuse(facts, rules, "too_large", "held call's body is over max_parked_body_bytes",
                    ApprovalErrors.tooLarge(conf.maxParkedBodyBytes()));
        }
        String routeId = ctx.conf().routeId();
        String fingerprint = Fingerprint.of(routeId, request.method(), request.path(), request.args(), model,
                body.asReadOnlyBuffer());
        String newId = ApprovalKeys.newId(tag, random);
        ApprovalStore.Admit admit = new ApprovalStore.Admit(mode, named, ApprovalKeys.principalKey(principal), tag,
                fingerprint, newId, conf.ttl(), conf.keep(), conf.maxOpenPerPrincipal(),
                parked(request, ctx, principal, model, matched, body));
        CompletableFuture<ApprovalStore.Outcome> admitted = new CompletableFuture<>();
        String requestId = requestId(request);
        try {
            blocking.execute(() -> {
                try {
                    ApprovalStore.Outcome o = store.get().admit(admit);
                    boolean heldKept = recordAdmitted(o, admit, requestId, routeId, principal, model, matched);
                    admitted.complete(o);
                    if (heldKept) {
                        // bookkeeping only (the sweep would write held again after a minute): after the call
                        // has its answer, so that a held call asks for its longer deadline one round trip sooner
                        heldRecorded(o.id());
                    }
                } catch (RuntimeException e) {
                    admitted.completeExceptionally(e);
                }
            });
        } catch (RuntimeException rejected) {
            facts.decide(new Decision(NAME, rules, Decision.Outcome.ERROR, "blocking executor full"));
            metrics.call("store_unavailable");
            return RequestDecision.stop(ApprovalErrors.STORE_UNAVAILABLE);
        }
        return admitted.handle((o, err) -> {
            if (err != null) {
                Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
                facts.decide(new Decision(NAME, rules, Decision.Outcome.ERROR,
                        "approval store unavailable: " + cause.getClass().getSimpleName()));
                metrics.call("store_unavailable");
                return RequestDecision.stop(ApprovalErrors.STORE_UNAVAILABLE);
            }
            RequestDecision d = decide(o, facts, rules);
            if (o.verdict() == ApprovalStore.Verdict.CREATED && !conf.webhooks().isEmpty()) {
                notifyPending(o, admit, facts, rules);
            }
            boolean pending = o.verdict() == ApprovalStore.Verdict.CREATED || o.verdict() == ApprovalStore.Verdict.JOINED;
            return pending && !conf.liveWait().isZero() ? holdLive(o, admit, facts, ctx, rules, d, requestId)
                    : CompletableFuture.completedFuture(d);
        }).thenCompose(stage -> stage);
    }

    /** Tells the route's webhooks about a new approval (asynchronous; the outcome is kept with the approval). */
    private void notifyPending(ApprovalStore.Outcome o, ApprovalStore.Admit admit, CallFacts facts, String rules) {
        Map<String, byte[]> f = new LinkedHashMap<>(admit.fields());
        put(f, "id", o.id());
        put(f, "state", "pending");
        put(f, "created_ms", Long.toString(clock.millis()));
        put(f, "expires_ms", Long.toString(o.expiresMillis()));
        put(f, "approvals", "[]");
        notifications.pending(conf.webhooks(), new ApprovalView(f), conf.statusUrl(o.id()));
        facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "reviewers notified through " + String.join(", ", conf.webhooks())));
    }

    /**
     * Keeps a pending call open for up to {@code wait_seconds}: the runtime is asked to stretch
     * the call's deadline, the call waits on a future ({@link LiveHolds}) that a decision on any
     * runner completes, and then asks the store once more (one script) what it may do. Approved in
     * time: the call proceeds unchanged and its approval is used. Otherwise it gets {@code parked}:
     * the {@code approval_pending} answer it would have had at once.
     */
    private CompletionStage<RequestDecision> holdLive(ApprovalStore.Outcome o, ApprovalStore.Admit admit, CallFacts facts,
                                                      CallContext ctx, String rules, RequestDecision parked, String requestId) {
        java.time.Instant now = java.time.Instant.now();
        java.time.Instant granted = ctx.holdUntil(now.plus(conf.liveWait()).plus(RESUME_MARGIN));
        java.time.Duration wait = java.time.Duration.between(now, granted).minus(RESUME_MARGIN);
        if (wait.compareTo(conf.liveWait()) > 0) {
            wait = conf.liveWait();
        }
        Optional<LiveHolds.Waiter> waiter = wait.isNegative() || wait.isZero() ? Optional.empty()
                : live.hold(o.id(), admit.principalTag(), conf.maxLivePerPrincipal(), wait);
        if (waiter.isEmpty()) {
            facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "parked at once (live-hold cap or shutdown)"));
            metrics.live("cap");
            return CompletableFuture.completedFuture(parked);
        }
        long heldAt = System.nanoTime();
        long waitSeconds = wait.toSeconds();
        ApprovalStore.Admit resume = new ApprovalStore.Admit(ApprovalStore.Mode.NAMED, o.id(), admit.principalKey(),
                admit.principalTag(), admit.fingerprint(), admit.newId(), admit.ttl(), admit.keep(), admit.maxOpen(), Map.of());
        return waiter.get().wake.thenCompose(wake -> {
            if (wake == LiveHolds.Wake.SHUTDOWN) {
                facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "parked: the runner is shutting down"));
                metrics.live("shutdown");
                return CompletableFuture.completedFuture(parked);
            }
            CompletableFuture<RequestDecision> out = new CompletableFuture<>();
            try {
                blocking.execute(() -> out.complete(resumed(wake, resume, facts, rules, parked, heldAt, waitSeconds, requestId)));
            } catch (RuntimeException rejected) {
                metrics.live("parked");
                out.complete(parked);
            }
            return out;
        });
    }

    /** After the wait (or a decision): the store decides, exactly once across every waiting call. */
    private RequestDecision resumed(LiveHolds.Wake wake, ApprovalStore.Admit resume, CallFacts facts, String rules,
                                    RequestDecision parked, long heldAt, long waitSeconds, String requestId) {
        long heldMs = (System.nanoTime() - heldAt) / 1_000_000;
        ApprovalStore.Outcome now;
        try {
            now = store.get().admit(resume);
        } catch (RuntimeException e) {
            // the approval is safe in Redis (or Redis is gone and so is any decision): the caller repeats later
            facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "parked after " + heldMs + " ms: store unavailable"));
            metrics.live("parked");
            return parked;
        }
        if (now.verdict() == ApprovalStore.Verdict.JOINED) {
            facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "parked: no decision within " + waitSeconds + " s"));
            metrics.live("parked");
            return parked;
        }
        recordUsedOrDenied(true, now, requestId);
        metrics.live(now.verdict() == ApprovalStore.Verdict.CONSUMED ? "resumed"
                : now.verdict() == ApprovalStore.Verdict.DENIED ? "denied" : "other");
        if (now.verdict() == ApprovalStore.Verdict.CONSUMED) {
            facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, "held live " + heldMs + " ms"));
        }
        return decide(now, facts, rules);
    }

    /**
     * The approval's own steps in the audit trail, as the store decided them (on the blocking executor).
     *
     * @return whether a new approval's {@code held} was handed to the trail ({@link #heldRecorded} is then due)
     */
    private boolean recordAdmitted(ApprovalStore.Outcome o, ApprovalStore.Admit admit, String requestId, String routeId,
                                   Principal principal, String model, List<String> matched) {
        try {
            if (o.verdict() == ApprovalStore.Verdict.CREATED) {
                boolean kept = audit.held(o.id(), requestId, routeId, principal, model, matched, admit.fingerprint(),
                        o.expiresMillis(), conf.requiredApprovals(), conf.liveWait().toSeconds());
                expiry.wake(conf.ttl());
                return kept;
            }
            recordUsedOrDenied(false, o, requestId);
        } catch (RuntimeException e) {
            LOG.warn("approval {}: event not recorded: {}", o.id(), e.getClass().getSimpleName());
        }
        return false;
    }

    /** {@code held} is in the trail: the approval leaves the opening set (until then the sweep would write it after a minute). */
    private void heldRecorded(String id) {
        try {
            store.get().heldRecorded(id);
        } catch (RuntimeException e) {
            LOG.warn("approval {}: still in the opening set ({}); the sweep writes held again, same event id", id,
                    e.getClass().getSimpleName());
        }
    }

    private void recordUsedOrDenied(boolean live, ApprovalStore.Outcome o, String requestId) {
        try {
            if (o.verdict() == ApprovalStore.Verdict.CONSUMED) {
                audit.used(live, o.id(), o.heldRequestId(), requestId, o.approvalsJson()); // the store forgot its expiry
            } else if (o.verdict() == ApprovalStore.Verdict.DENIED) {
                audit.denied(live, o.id(), o.heldRequestId(), requestId);
            }
        } catch (RuntimeException e) {
            LOG.warn("approval {}: event not recorded: {}", o.id(), e.getClass().getSimpleName());
        }
    }

    /** nginx's request id, when a plugin of the route fetched it (pam-record does): links the audit events to the call. */
    private static String requestId(HttpRequest request) {
        return request.var("request_id").orElse("");
    }

    private static final RequestRewrite STRIP_HEADER = RequestRewrite.builder().removeHeader(APPROVAL_HEADER).build();

    private RequestDecision decide(ApprovalStore.Outcome o, CallFacts facts, String rules) {
        String url = conf.statusUrl(o.id().isEmpty() ? "-" : o.id());
        return switch (o.verdict()) {
            case CONSUMED -> {
                List<String> reviewers = reviewerNames(o.approvalsJson());
                facts.approval(o.id(), reviewers);
                facts.decide(new Decision(NAME, rules, Decision.Outcome.APPROVE,
                        "approval " + o.id() + " used (approved by " + String.join(", ", reviewers) + ")"
                                + approvalReasons(o.approvalsJson())));
                metrics.call("used");
                yield new RequestDecision.Proceed(STRIP_HEADER);
            }
            case CREATED, JOINED -> {
                boolean joined = o.verdict() == ApprovalStore.Verdict.JOINED;
                facts.approval(o.id(), List.of());
                facts.decide(new Decision(NAME, rules, Decision.Outcome.HOLD, (joined ? "joined pending approval " : "held for approval ")
                        + o.id() + " until " + java.time.Instant.ofEpochMilli(o.expiresMillis())));
                metrics.call(joined ? "joined" : "held");
                yield new RequestDecision.Halt(ApprovalErrors.pending(o.id(), o.expiresMillis(), url, rules, joined));
            }
            case DENIED -> halt(facts, rules, o, "denied", ApprovalErrors.denied(o.id(), o.expiresMillis(), url));
            case USED -> halt(facts, rules, o, "already_used", ApprovalErrors.used(o.id(), o.expiresMillis(), url));
            case EXPIRED -> halt(facts, rules, o, "expired", ApprovalErrors.expired(o.id(), o.expiresMillis(), url));
            case MISMATCH -> halt(facts, rules, o, "request_mismatch", ApprovalErrors.mismatch(o.id(), o.expiresMillis(), url));
            case NOT_YOURS -> halt(facts, rules, o, "principal_mismatch", ApprovalErrors.notYours());
            case NOT_FOUND -> halt(facts, rules, o, "not_found", ApprovalErrors.notFound());
            case LIMIT -> halt(facts, rules, o, "limit", ApprovalErrors.limit(conf.maxOpenPerPrincipal()));
        };
    }

    private RequestDecision halt(CallFacts facts, String rules, ApprovalStore.Outcome o, String code, Stop stop) {
        if (!o.id().isEmpty()) {
            facts.approval(o.id(), List.of());
        }
        facts.decide(new Decision(NAME, rules, Decision.Outcome.DENY, "approval_" + code + (o.id().isEmpty() ? "" : " " + o.id())));
        metrics.call(code);
        return new RequestDecision.Halt(stop);
    }

    private CompletionStage<RequestDecision> refuse(CallFacts facts, String rules, String code, String reason, Stop stop) {
        facts.decide(new Decision(NAME, rules, Decision.Outcome.DENY, reason));
        metrics.call(code);
        return RequestDecision.stop(stop);
    }

    /** The ids of the rules that hold this call, in conf order. The body is parsed at most once. */
    private List<String> matchedRules(HttpRequest request, CallFacts facts, Principal principal, String model) {
        List<String> matched = null;
        RuleInput in = new RuleInput(request, facts, principal, model, clock.millis(), conf.params());
        for (HoldRule r : conf.rules()) {
            if (r.matches(in)) {
                if (matched == null) {
                    matched = new ArrayList<>(2);
                }
                matched.add(r.id());
            }
        }
        return matched == null ? List.of() : matched;
    }

    /** pam-auth let the call through on a path that names no model (e.g. {@code GET /v1/models}). */
    private static boolean modelFree(CallFacts facts) {
        for (Decision d : facts.decisions()) {
            if ("pam-auth".equals(d.plugin()) && "model-free-path".equals(d.ruleId()) && d.outcome() == Decision.Outcome.ALLOW) {
                return true;
            }
        }
        return false;
    }

    /** The call as parked for reviewers and the audit: no credential, no header named in redact_headers. */
    private Map<String, byte[]> parked(HttpRequest request, CallContext ctx, Principal p, String model, List<String> rules,
                                       Body body) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        ObjectNode headers = JSON.createObjectNode();
        for (Header h : request.headers().entries()) {
            String name = h.name().toLowerCase(Locale.ROOT);
            if (!CREDENTIAL_HEADERS.contains(name) && !conf.redactHeaders().contains(name)) {
                ArrayNode values = headers.has(name) ? (ArrayNode) headers.get(name) : headers.putArray(name);
                values.add(h.value() == null ? "" : h.value());
            }
        }
        ArrayNode args = JSON.createArrayNode();
        for (Header a : request.args().entries()) {
            ArrayNode pair = args.addArray().add(a.name());
            if (a.value() == null) {
                pair.addNull();
            } else {
                pair.add(a.value());
            }
        }
        put(f, "route", ctx.conf().routeId());
        put(f, "request_id", requestId(request));
        put(f, "policy", ctx.conf().sha256());
        put(f, "method", request.method());
        put(f, "path", request.path());
        put(f, "args", args.toString());
        put(f, "headers", headers.toString());
        f.put("body", body.toByteArray());
        put(f, "model", model);
        put(f, "sub", p.subject());
        put(f, "iss", p.issuer());
        put(f, "username", p.username());
        put(f, "groups", JSON.valueToTree(p.groups()).toString());
        put(f, "client", p.clientId());
        put(f, "source_ip", request.sourceIp());
        put(f, "rules", JSON.valueToTree(rules).toString());
        put(f, "required", Integer.toString(conf.requiredApprovals()));
        put(f, "reviewer_groups", JSON.valueToTree(conf.reviewerGroups().stream().sorted().toList()).toString());
        put(f, "status_url_template", conf.statusUrl("{id}"));
        put(f, "notify", JSON.valueToTree(conf.webhooks()).toString());
        return f;
    }

    private static void put(Map<String, byte[]> f, String k, String v) {
        f.put(k, ApprovalStore.utf8(v == null ? "" : v));
    }

    /** Who approved and why, for the audit trail: {@code "; rita: ticket OPS-1"}. */
    private static String approvalReasons(String approvalsJson) {
        StringBuilder sb = new StringBuilder();
        try {
            for (JsonNode a : JSON.readTree(approvalsJson)) {
                sb.append("; ").append(a.path("name").asText("?")).append(": ").append(a.path("reason").asText(""));
            }
        } catch (Exception e) {
            return "";
        }
        return sb.toString();
    }

    static List<String> reviewerNames(String approvalsJson) {
        List<String> out = new ArrayList<>();
        try {
            for (JsonNode a : JSON.readTree(approvalsJson)) {
                String name = a.path("name").asText("");
                out.add(name.isEmpty() ? a.path("sub").asText("?") : name);
            }
        } catch (Exception e) {
            out.add("?");
        }
        return out;
    }

    /** A rule's view of the call; the body parameters are read on first use only. */
    private static final class RuleInput implements HoldRule.Call {
        private final HttpRequest request;
        private final CallFacts facts;
        private final Principal principal;
        private final String model;
        private final long now;
        private final Set<String> wanted;
        private BodyParams params;

        RuleInput(HttpRequest request, CallFacts facts, Principal principal, String model, long now, Set<String> wanted) {
            this.request = request;
            this.facts = facts;
            this.principal = principal;
            this.model = model;
            this.now = now;
            this.wanted = wanted;
        }

        public Principal principal() {
            return principal;
        }

        public String model() {
            return model;
        }

        public long epochMillis() {
            return now;
        }

        public List<Decision> earlierDecisions() {
            return facts.decisions();
        }

        public BodyParams params() {
            if (params == null) {
                params = BodyParams.read(request.body().map(Body::toByteArray).orElse(new byte[0]), wanted);
            }
            return params;
        }
    }
}
