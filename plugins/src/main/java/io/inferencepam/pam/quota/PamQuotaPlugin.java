package io.inferencepam.pam.quota;

import io.inferencepam.pam.catalog.UsageReader;
import io.inferencepam.pam.catalog.UsageReading;
import io.inferencepam.pam.catalog.UsageRequest;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pam-quota for one route conf. Request phase: the principal pam-auth established, the model it
 * resolved → the counters of the limits that apply → one script counts the call in all of them or
 * refuses it (429) when one is at its cap; Redis unreachable → 503 (or pass, with
 * {@code fail_open}). Response phase (token caps only): the usage the server reports is charged
 * to the call's token counters, after the response — the call that crosses a token cap completes,
 * the next one is refused.
 */
final class PamQuotaPlugin implements Plugin {
    static final String NAME = "pam-quota";
    private static final Logger LOG = LoggerFactory.getLogger(PamQuotaPlugin.class);
    static final Attributes.Key<QuotaTicket> TICKET = Attributes.Key.of("pam-quota.ticket", QuotaTicket.class);

    private final QuotaConf conf;
    private final QuotaStore store;
    private final QuotaMetrics metrics;
    private final Requirements requestRequirements;
    private final Requirements responseRequirements;
    /** Logged once per conf: the error repeats on every call until the route is fixed. */
    private final AtomicBoolean reportedNoPrincipal = new AtomicBoolean();

    PamQuotaPlugin(QuotaConf conf, QuotaStore store, QuotaMetrics metrics) {
        this.conf = conf;
        this.store = store;
        this.metrics = metrics;
        this.requestRequirements = conf.capsTokens() && conf.requireStreamUsage()
                ? Requirements.NONE.withRequestBody() : Requirements.NONE;
        this.responseRequirements = conf.capsTokens() ? Requirements.NONE.withResponseBody() : Requirements.NONE;
    }

    @Override
    public Requirements requirements(Phase phase) {
        return phase == Phase.REQUEST ? requestRequirements : responseRequirements;
    }

    /** The principal and model come from pam-auth through CallFacts; the ticket crosses to the response phase. */
    @Override
    public boolean correlatesPhases() {
        return true;
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext ctx) {
        CallFacts facts = CallFacts.of(ctx);
        Optional<Principal> principal = facts.principal();
        if (principal.isEmpty()) {
            // A route whose pre-req conf does not run pam-auth before pam-quota: a configuration error.
            // Refused, never counted under some shared anonymous key or let through uncounted.
            if (!reportedNoPrincipal.getAndSet(true)) {
                LOG.error("pam-quota on route conf {} ran before any principal was established: list pam-auth before pam-quota;"
                        + " calls on it are refused with 500", ctx.conf());
            }
            metrics.outcome("no_principal");
            return halt(facts, "principal:missing", Decision.Outcome.ERROR, "no principal (pam-auth must run first)",
                    Stop.openAiError(500, "server_error", "quota_misconfigured",
                            "The gateway's quota check is misconfigured on this route, so the request was refused. "
                                    + "Contact the gateway's operators."));
        }
        if (requestRequirements.requestBody()) {
            Optional<UsageRequest.Problem> problem = UsageRequest.check(request.method(), request.path(),
                    request.body().orElse(Body.empty()).toByteArray());
            if (problem.isPresent()) {
                metrics.outcome("stream_usage_required");
                return halt(facts, "stream-usage", Decision.Outcome.DENY, "token quota: " + problem.get(), streamUsageStop(problem.get()));
            }
        }
        List<QuotaCounter> counters = QuotaKeys.counters(conf.limits(), principal.get(), facts.model());
        if (counters.isEmpty()) {
            metrics.outcome("no_limit");
            facts.decide(new Decision(NAME, "no-limit", Decision.Outcome.ALLOW, "no limit applies to this call"));
            return RequestDecision.proceed();
        }
        long start = System.nanoTime();
        return store.admit(counters).handle((admission, err) -> {
            metrics.redis("admit", System.nanoTime() - start);
            if (err != null) {
                return unavailable(facts, err);
            }
            if (admission instanceof QuotaStore.Exceeded ex) {
                return exceeded(facts, ex);
            }
            List<QuotaCounter> tokenCounters = counters.stream().filter(c -> c.tokenCap() >= 0).toList();
            if (!tokenCounters.isEmpty()) {
                ctx.exchange().ifPresent(e -> {
                    // a second pam-quota entry of the same phase adds its counters to the first one's
                    List<QuotaCounter> all = new ArrayList<>(e.get(TICKET).map(QuotaTicket::tokenCounters).orElse(List.of()));
                    all.addAll(tokenCounters);
                    e.put(TICKET, new QuotaTicket(all));
                });
            }
            metrics.outcome("allow");
            facts.decide(new Decision(NAME, ids(counters), Decision.Outcome.ALLOW, "counted"));
            return RequestDecision.PROCEED;
        });
    }

    private RequestDecision exceeded(CallFacts facts, QuotaStore.Exceeded ex) {
        long retryAfter = Math.max(1, (ex.retryAfterMillis() + 999) / 1000);
        QuotaCounter c = ex.counter();
        long cap = "requests".equals(ex.kind()) ? c.requestCap() : c.tokenCap();
        metrics.outcome("exceeded");
        metrics.exceeded(c.limitId(), ex.kind());
        facts.decide(new Decision(NAME, c.limitId(), Decision.Outcome.QUOTA,
                "over quota: " + cap + " " + ex.kind() + " per " + window(c.windowMillis()) + "; retry after " + retryAfter + " s"));
        return new RequestDecision.Halt(Stop.openAiError(429, "rate_limit_error", "quota_exceeded",
                "You have used your quota `" + c.limitId() + "` of " + cap + " " + ex.kind() + " per " + window(c.windowMillis())
                        + " on this route. It resets in " + retryAfter + " s; retry then.",
                "Retry-After", Long.toString(retryAfter)));
    }

    private RequestDecision unavailable(CallFacts facts, Throwable err) {
        String cause = cause(err);
        if (conf.failOpen()) {
            metrics.outcome("fail_open");
            facts.decide(new Decision(NAME, "store-unavailable", Decision.Outcome.ALLOW,
                    "quota store unavailable (" + cause + "); passed uncounted: the route sets fail_open"));
            return RequestDecision.PROCEED;
        }
        metrics.outcome("unavailable");
        facts.decide(new Decision(NAME, "store-unavailable", Decision.Outcome.ERROR, "quota store unavailable (" + cause + ")"));
        return new RequestDecision.Halt(Stop.openAiError(503, "service_unavailable", "quota_unavailable",
                "The gateway cannot check your quota right now, so the request was refused. Retry shortly."));
    }

    @Override
    public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext ctx) {
        Optional<QuotaTicket> ticket = ctx.exchange().flatMap(e -> e.get(TICKET));
        if (ticket.isEmpty()) {
            if (conf.capsTokens()) {
                metrics.usage("no_ticket"); // no token limit applied to the call, or it was not correlated
            }
            return ResponseChange.unchanged();
        }
        ctx.exchange().get().remove(TICKET); // charged at most once, whatever else runs
        CallFacts facts = CallFacts.of(ctx);
        String ids = ids(ticket.get().tokenCounters());
        if (response.status() < 200 || response.status() > 299) {
            metrics.usage("not_2xx");
            return ResponseChange.unchanged();
        }
        UsageReading reading = UsageReader.read(response.body().orElse(Body.empty()).toByteArray(),
                String.join(",", response.headers().all("content-type")), response.headers().all("content-encoding"));
        if (reading.usage().isEmpty()) {
            metrics.usage("missing");
            facts.decide(new Decision(NAME, ids, Decision.Outcome.ERROR, "no token usage charged: " + reading.problem()));
            return ResponseChange.unchanged();
        }
        long tokens = reading.usage().get().totalTokens();
        if (tokens == 0) {
            metrics.usage("zero");
            return ResponseChange.unchanged();
        }
        long start = System.nanoTime();
        // The response waits for the charge (one round trip): once the client has it, its next call sees the tokens.
        return store.charge(ticket.get().tokenCounters(), tokens).handle((ok, err) -> {
            metrics.redis("charge", System.nanoTime() - start);
            if (err != null) {
                metrics.usage("unavailable");
                LOG.warn("pam-quota: {} tokens not charged to {}: quota store unavailable ({})", tokens, ids, cause(err));
                facts.decide(new Decision(NAME, ids, Decision.Outcome.ERROR,
                        tokens + " tokens not charged: quota store unavailable (" + cause(err) + ")"));
            } else {
                metrics.usage("charged");
                metrics.tokens(tokens);
                facts.decide(new Decision(NAME, ids, Decision.Outcome.QUOTA, "charged " + tokens + " tokens ("
                        + reading.usage().get().inputTokens() + " in, " + reading.usage().get().outputTokens() + " out)"));
            }
            return ResponseChange.NONE; // delivered either way: the tokens are spent, withholding the answer saves nothing
        });
    }

    private static Stop streamUsageStop(UsageRequest.Problem p) {
        return switch (p) {
            case STREAM_WITHOUT_USAGE -> Stop.openAiError(400, "invalid_request_error", "stream_usage_required",
                    "This route meters tokens: a streamed request must ask for usage with "
                            + "\"stream_options\": {\"include_usage\": true}, or not stream.");
            case AMBIGUOUS_KEY -> Stop.openAiError(400, "invalid_request_error", "ambiguous_json_key",
                    "The request body repeats \"stream\", \"stream_options\" or \"include_usage\"; send each once.");
            case NOT_JSON -> Stop.openAiError(400, "invalid_request_error", "invalid_request_body",
                    "The request body is not a JSON object.");
        };
    }

    private CompletionStage<RequestDecision> halt(CallFacts facts, String rule, Decision.Outcome outcome, String reason, Stop stop) {
        facts.decide(new Decision(NAME, rule, outcome, reason));
        return CompletableFuture.completedFuture(new RequestDecision.Halt(stop));
    }

    private static String ids(List<QuotaCounter> counters) {
        return counters.stream().map(QuotaCounter::limitId).collect(Collectors.joining(","));
    }

    /** "3600 s", "1 h", "1 d": for messages. */
    static String window(long millis) {
        long s = millis / 1000;
        if (s % 86400 == 0) {
            return s == 86400 ? "day" : s / 86400 + " days";
        }
        if (s % 3600 == 0) {
            return s == 3600 ? "hour" : s / 3600 + " hours";
        }
        if (s % 60 == 0) {
            return s == 60 ? "minute" : s / 60 + " minutes";
        }
        return s == 1 ? "second" : s + " seconds";
    }

    /** The exception's class only: Jedis messages may name hosts, never anything a client should read. */
    private static String cause(Throwable err) {
        Throwable t = err;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        List<String> chain = new ArrayList<>();
        for (Throwable c = t; c != null && chain.size() < 3; c = c.getCause()) {
            chain.add(c.getClass().getSimpleName());
        }
        return String.join(" < ", chain);
    }
}
