package io.inferencepam.pam.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.auth.ModelResolver;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.ModelSource;
import io.inferencepam.pam.catalog.PathPattern;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.Stop;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * pam-guard for one route conf. In order, each step final when it refuses:
 * <ol>
 *   <li>input hygiene, always enforced: a method-override header or {@code _method} arg (400
 *       {@code method_override_refused}), a path that is not canonical (400 {@code non_canonical_path}),
 *       a body over {@code max_body_bytes} (413 {@code request_too_large}, before anything reads it);</li>
 *   <li>the endpoint ({@link EndpointPolicy}): route rules, the packs, allow-only-inference (403);</li>
 *   <li>for inference endpoints, when body checks are configured: one strict parse of the JSON body
 *       and the {@link BodyCheck}s in order; a rewrite reaches the model server as the new body. When
 *       every check names the members it reads ({@link BodyCheck#reads}) the parse is one streaming
 *       pass that builds only those ({@link StrictJsonBody#view}), and the whole tree is built only
 *       for a rewrite.</li>
 * </ol>
 * In observe mode steps 2 and 3 record what they would have refused or rewritten and let the call
 * through unchanged.
 */
final class GuardPlugin implements Plugin {
    static final String NAME = "pam-guard";
    private static final Requirements REQUIREMENTS;

    static {
        List<String> vars = new java.util.ArrayList<>(List.of(CanonicalPath.RAW_TARGET_VAR, "http_content_type"));
        vars.addAll(InputHygiene.METHOD_OVERRIDE_VARS);
        REQUIREMENTS = new Requirements(new java.util.LinkedHashSet<>(vars), false, false).withRequestBody();
    }

    private final GuardConf conf;
    private final EndpointPolicy policy;
    private final List<BodyCheck> checks;
    /** Per shape, the top-level members every check together reads; absent when one reads the whole body. */
    private final Map<BodyShape, StrictJsonBody.Members> reads;
    private final GuardMetrics metrics;

    GuardPlugin(GuardConf conf, List<BodyCheck> checks, GuardMetrics metrics) {
        this.conf = conf;
        this.policy = new EndpointPolicy(conf.family(), conf.packs(), conf.rules(), conf.allowOnlyInference());
        this.checks = List.copyOf(checks);
        this.reads = reads(this.checks);
        this.metrics = metrics;
    }

    private static Map<BodyShape, StrictJsonBody.Members> reads(List<BodyCheck> checks) {
        Map<BodyShape, StrictJsonBody.Members> out = new EnumMap<>(BodyShape.class);
        shapes:
        for (BodyShape shape : BodyShape.values()) {
            Set<String> names = new HashSet<>();
            boolean text = false;
            for (BodyCheck c : checks) {
                Optional<Set<String>> r = c.reads(shape);
                if (r.isEmpty()) {
                    continue shapes;
                }
                names.addAll(r.get());
                text |= c.readsText();
            }
            out.put(shape, StrictJsonBody.Members.of(names, !text));
        }
        return out;
    }

    @Override
    public Requirements requirements(Phase phase) {
        return phase == Phase.REQUEST ? REQUIREMENTS : Requirements.NONE;
    }

    @Override
    public boolean correlatesPhases() {
        return true;
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext ctx) {
        return decide(request, CallFacts.of(ctx));
    }

    private CompletionStage<RequestDecision> decide(HttpRequest request, CallFacts facts) {
        // The runtime hands methods upper-case; a lower-case one must not slip past an upper-case rule.
        String method = request.method().toUpperCase(Locale.ROOT);
        // 1. hygiene
        Optional<InputHygiene.Refusal> refusal = InputHygiene.check(request, conf.maxBodyBytes());
        if (refusal.isPresent()) {
            InputHygiene.Refusal r = refusal.get();
            return refuse(facts, r.ruleId(), r.outcome(), r.stop());
        }
        String path = request.path();
        Body body = request.body().orElse(Body.empty());
        // 2. endpoint
        String[] segments = PathPattern.segments(path);
        EndpointPolicy.Verdict verdict = policy.decide(method, segments, PathPattern.lower(segments));
        Optional<Endpoint> endpoint;
        boolean byRouteRule;
        if (verdict instanceof EndpointPolicy.Blocked b) {
            metrics.blocked(b.group(), conf.mode());
            String message = "Request refused by rule " + b.ruleId() + ": " + b.reason() + ".";
            if (conf.mode() == GuardMode.ENFORCE) {
                return refuse(facts, b.ruleId(), "blocked", Stop.openAiError(403, "invalid_request_error", b.code(), message),
                        b.reason());
            }
            facts.decide(new Decision(NAME, b.ruleId(), Decision.Outcome.ALLOW, "observe mode, would refuse (403 "
                    + b.code() + "): " + b.reason()));
            endpoint = policy.legitimate(method, segments);
            byRouteRule = false;
        } else {
            EndpointPolicy.Allowed a = (EndpointPolicy.Allowed) verdict;
            endpoint = a.endpoint();
            byRouteRule = a.byRouteRule();
            facts.decide(new Decision(NAME, a.ruleId(), Decision.Outcome.ALLOW, "endpoint allowed"));
        }
        // 3. body checks
        if (checks.isEmpty() || endpoint.isEmpty() || endpoint.get().kind() != Endpoint.Kind.INFERENCE) {
            return pass(verdict);
        }
        Endpoint e = endpoint.get();
        if (e.shape() == BodyShape.NONE) {
            if (byRouteRule) {
                return pass(verdict); // the route explicitly opened an endpoint whose body no check reads
            }
            return observeOr(facts, "body:not-inspectable", "not_inspectable",
                    Stop.openAiError(403, "invalid_request_error", "endpoint_not_inspectable",
                            "Request refused: this route applies body policies, and the body of this endpoint is not a "
                                    + "shape they read; use the chat, completions, responses or embeddings endpoint."),
                    verdict);
        }
        return checkBody(request, facts, e, segments, body, verdict);
    }

    private CompletionStage<RequestDecision> checkBody(HttpRequest request, CallFacts facts, Endpoint e, String[] segments,
                                                       Body body, EndpointPolicy.Verdict verdict) {
        Optional<String> ct = request.var("http_content_type").filter(s -> !s.isEmpty());
        if (ct.isEmpty() || !ModelResolver.isJson(ct.get())) {
            return refuse(facts, "body:content-type", "invalid_body",
                    Stop.openAiError(415, "invalid_request_error", "unsupported_media_type",
                            "Request refused: send the JSON body with Content-Type: application/json."));
        }
        byte[] bytes = body.toByteArray();
        // one streaming pass when every check says what it reads; the whole tree only when one needs it
        StrictJsonBody.Members names = reads.get(e.shape());
        StrictJsonBody.Result parsed = names == null ? StrictJsonBody.parse(bytes)
                : StrictJsonBody.view(bytes, names, e.model() instanceof ModelSource.BodyFields f ? f.names() : List.of());
        if (parsed instanceof StrictJsonBody.Refused r) {
            return refuse(facts, "body:" + r.code(), "invalid_body", Stop.openAiError(400, "invalid_request_error", r.code(), r.message()));
        }
        ObjectNode original = ((StrictJsonBody.Parsed) parsed).body();
        ObjectNode current = original;
        boolean whole = names == null;
        String model = model(facts, e, segments, original);
        boolean rewritten = false;
        for (BodyCheck check : checks) {
            BodyCheckResult result = check.check(e.shape(), model, current, facts);
            if (result instanceof BodyCheckResult.Rewrite && !whole) {
                // the check saw only its members: it rewrites the whole body (nothing was rewritten before)
                current = ((StrictJsonBody.Parsed) StrictJsonBody.parse(bytes)).body();
                whole = true;
                result = check.check(e.shape(), model, current, facts);
            }
            if (result instanceof BodyCheckResult.Deny d) {
                if (conf.mode() == GuardMode.ENFORCE) {
                    return refuse(facts, d.ruleId(), "body_denied", d.stop());
                }
                facts.decide(new Decision(NAME, d.ruleId(), Decision.Outcome.ALLOW,
                        "observe mode, would refuse (HTTP " + d.stop().status() + ")"));
                metrics.outcome("observed");
            } else if (result instanceof BodyCheckResult.Rewrite w) {
                if (conf.mode() == GuardMode.ENFORCE) {
                    current = w.body();
                    rewritten = true;
                    facts.decide(new Decision(NAME, w.ruleId(), Decision.Outcome.REWRITE, w.reason()));
                } else {
                    facts.decide(new Decision(NAME, w.ruleId(), Decision.Outcome.ALLOW, "observe mode, would rewrite: " + w.reason()));
                    metrics.outcome("observed");
                }
            }
        }
        if (!rewritten) {
            return pass(verdict);
        }
        byte[] rewrittenBytes;
        try {
            rewrittenBytes = StrictJsonBody.MAPPER.writeValueAsBytes(current);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("a rewritten body could not be serialised", ex); // fails closed: 503
        }
        metrics.outcome("body_rewritten");
        return RequestDecision.proceed(RequestRewrite.builder().body(Body.wrap(rewrittenBytes)).build());
    }

    /** pam-auth's resolution when it ran first, else where the catalogue says the endpoint names the model. */
    private static String model(CallFacts facts, Endpoint e, String[] segments, ObjectNode body) {
        Optional<String> resolved = facts.model();
        if (resolved.isPresent()) {
            return resolved.get();
        }
        if (e.model() instanceof ModelSource.BodyFields f) {
            for (String name : f.names()) {
                JsonNode v = body.get(name);
                if (v != null && v.isTextual()) {
                    return v.asText();
                }
            }
            return "";
        }
        String fromPath = e.model().fromPath(segments);
        return fromPath == null ? "" : fromPath;
    }

    private CompletionStage<RequestDecision> pass(EndpointPolicy.Verdict verdict) {
        metrics.outcome(verdict instanceof EndpointPolicy.Blocked ? "observed" : "allow");
        return RequestDecision.proceed();
    }

    private CompletionStage<RequestDecision> observeOr(CallFacts facts, String ruleId, String outcome, Stop stop,
                                                      EndpointPolicy.Verdict verdict) {
        if (conf.mode() == GuardMode.ENFORCE) {
            return refuse(facts, ruleId, outcome, stop);
        }
        facts.decide(new Decision(NAME, ruleId, Decision.Outcome.ALLOW, "observe mode, would refuse (HTTP " + stop.status() + ")"));
        metrics.outcome("observed");
        return RequestDecision.proceed();
    }

    private CompletionStage<RequestDecision> refuse(CallFacts facts, String ruleId, String outcome, Stop stop) {
        return refuse(facts, ruleId, outcome, stop, null);
    }

    private CompletionStage<RequestDecision> refuse(CallFacts facts, String ruleId, String outcome, Stop stop, String why) {
        facts.decide(new Decision(NAME, ruleId, Decision.Outcome.DENY, "HTTP " + stop.status() + (why == null ? "" : ": " + why)));
        metrics.outcome(outcome);
        return RequestDecision.stop(stop);
    }
}
