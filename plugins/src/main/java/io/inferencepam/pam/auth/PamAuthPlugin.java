package io.inferencepam.pam.auth;

import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.OpenAiError;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.Stop;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * pam-auth for one route conf: bearer token → verified principal → the model the request is for →
 * entitlement (deny by default) → the upstream credential held by the gateway replaces whatever
 * credential the client sent.
 */
final class PamAuthPlugin implements Plugin {
    static final String NAME = "pam-auth";
    private static final String AUTHZ_VAR = "http_authorization";
    private static final String REALM = "Bearer realm=\"inference-pam\"";
    /** Set in the request phase when the call asks for a model list that the response phase filters. */
    static final Attributes.Key<ModelListFilter.Kind> MODEL_LIST = Attributes.Key.of("pam.auth.model-list", ModelListFilter.Kind.class);
    /**
     * The method and nginx's normalised path in the response phase too: a model list whose
     * request-phase state is gone (no {@code request_id}, an evicted exchange) is recognised and
     * withheld rather than passed unfiltered.
     */
    private static final Requirements RESPONSE_REQUIREMENTS = Requirements.vars("request_method", "uri").withResponseBody();

    private final AuthConf conf;
    private final TokenVerifier verifier;
    private final TokenPolicy policy;
    private final ModelResolver resolver;
    private final Entitlements entitlements;
    private final Supplier<Optional<CredentialCache>> credentials;
    private final AuthMetrics metrics;
    /**
     * Asked before the chain: only the token header (usually in the call frame, no question). The
     * cookie is not: the token-cookie rule reads it before the token when the call already has it,
     * and otherwise with the model vars and the body, in the same batch, once the token passed.
     */
    private final Requirements requirements;
    /** Policy replay ({@link io.inferencepam.runner.spi.PluginEnvironment#offline}): see {@link #onRequest}. */
    private final boolean offline;
    /**
     * Asked once the token passed, in one batch: the cookie (for the token-cookie rule, when the call
     * did not have it already) and what the model decision reads (the body, model headers).
     */
    private final Requirements modelNeeds;
    /** The same plus the raw URI, where the path decides ({@link ModelResolver#pathDecides}). */
    private final Requirements modelNeedsWithRawUri;

    PamAuthPlugin(AuthConf conf, TokenVerifier verifier, TokenPolicy policy, ModelResolver resolver,
                  Entitlements entitlements, Supplier<Optional<CredentialCache>> credentials, AuthMetrics metrics,
                  boolean offline) {
        this.offline = offline;
        this.conf = conf;
        this.verifier = verifier;
        this.policy = policy;
        this.resolver = resolver;
        this.entitlements = entitlements;
        this.credentials = credentials;
        this.metrics = metrics;
        this.requirements = Requirements.vars(AUTHZ_VAR);
        Set<String> vars = new LinkedHashSet<>(List.of(TokenCarriers.COOKIE_VAR, "http_content_type"));
        conf.modelHeaders().forEach(h -> vars.add(AuthConf.headerVar(h)));
        Requirements r = new Requirements(vars, false, false);
        this.modelNeeds = resolver.needsBody() ? r.withRequestBody() : r;
        this.modelNeedsWithRawUri = Requirements.vars(TokenCarriers.COOKIE_VAR, CanonicalPath.RAW_TARGET_VAR).plus(modelNeeds);
    }

    @Override
    public Requirements requirements(Phase phase) {
        // In the response phase only on routes that put pam-auth there to filter model lists.
        return phase == Phase.REQUEST ? requirements : RESPONSE_REQUIREMENTS;
    }

    /**
     * The issuer's keys, loading since the conf was created, and the route's upstream credential:
     * PrepareConf waits for both, so the route's first call verifies its token and injects the
     * credential at once instead of waiting for the IdP or Redis inside its own deadline. Request
     * phase only (the response phase verifies no token). A failed read refuses nothing here: the
     * call that needs the credential answers as it would have (503 with the store's code).
     */
    @Override
    public CompletionStage<?> warmUp(Phase phase) {
        if (phase != Phase.REQUEST || offline) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<?> keys = verifier.keys().warmUp();
        Optional<CredentialCache> cache = conf.upstreamCredential().isPresent() ? credentials.get() : Optional.empty();
        if (cache.isEmpty()) {
            return keys;
        }
        CompletableFuture<?> credential = cache.get().get(conf.upstreamCredential().get()).toCompletableFuture();
        return CompletableFuture.allOf(keys, credential);
    }

    /**
     * The request hook runs on the event loop when the runtime finds it cheap: what it does there is
     * a cache hit (a hash and a side-effect-free lookup), the model scan of a small body and a
     * cached credential; a token-cache miss is verified on the plugin threads, a refused miss is
     * answered without a log, the JWKS and the credential are read on the blocking executor.
     */
    @Override
    public boolean inlineSafe(Phase phase) {
        return phase == Phase.REQUEST;
    }

    @Override
    public boolean correlatesPhases() {
        return true;
    }

    /**
     * Only a model-list call hands something to the response phase (the list pam-auth filters
     * there): other calls spare APISIX the {@code request_id} round trip. A plugin that reads
     * pam-auth's facts in the response phase (pam-record) correlates every call itself.
     */
    @Override
    public boolean correlatesCall(String method, String path) {
        return ModelListFilter.kindOf(method, path).isPresent();
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext ctx) {
        CallFacts facts = CallFacts.of(ctx);
        if (offline && facts.principal().isPresent()) {
            // Policy replay: the token is never recorded, so the principal the live runner verified
            // for this call stands in for it. Identity is not re-proven; the model, the
            // entitlements and the credential step are decided again under this conf.
            facts.decide(new Decision(NAME, "identity:recorded", Decision.Outcome.ALLOW,
                    "recorded principal (identity not re-proven offline)"));
            return authorize(request, facts, facts.principal().get(), ctx);
        }
        Optional<String> token = bearer(request.var(AUTHZ_VAR));
        // The cookie when the call already knows all of it: the rule is decided now, before any
        // signature work. Otherwise it is asked once the token passed (below); the frame's own Cookie
        // lines, which may lack the request's lines past the 100th (FrameVars), still prove a token
        // cookie they carry, so that one is refused now too.
        Optional<Optional<String>> cookie = ctx.known(request, TokenCarriers.COOKIE_VAR);
        Optional<TokenCarriers.Place> elsewhere = TokenCarriers.find(request.args(),
                cookie.isPresent() ? cookie.get() : frameCookies(request));
        if (elsewhere.isPresent() && (token.isPresent() || elsewhere.get() == TokenCarriers.Place.QUERY)) {
            return oneTokenMethod(facts, elsewhere.get(), token.isPresent());
        }
        if (token.isEmpty()) {
            return deny(facts, "token:missing", "invalid_token",
                    Stop.openAiError(401, "invalid_request_error", "invalid_token",
                            "Missing bearer token: send an OIDC access token in the Authorization header.",
                            "WWW-Authenticate", REALM + ", error=\"invalid_token\""));
        }
        if (token.get().length() > conf.maxTokenBytes()) {
            return deny(facts, "token:oversize", "invalid_token", invalidToken("The access token is too large."));
        }
        return verifier.verify(token.get()).thenCompose(result -> {
            if (result instanceof TokenVerifier.Overloaded) {
                // A flood of new tokens filled the plugin threads: refused at once, counted, not logged.
                return deny(facts, "token:overloaded", "overloaded", Stop.openAiError(503, "server_error", "gateway_overloaded",
                        "The gateway is too busy to verify this access token; retry shortly."));
            }
            if (result instanceof TokenVerifier.KeysUnavailable) {
                return deny(facts, "token:keys-unavailable", "idp_unavailable",
                        Stop.openAiError(503, "server_error", "identity_provider_unavailable",
                                "The identity provider's signing keys are not available; try again shortly."));
            }
            if (result instanceof TokenVerifier.Invalid inv) {
                return deny(facts, "token:" + inv.reason(), "invalid_token", invalidToken(inv.message()));
            }
            VerifiedToken vt = ((TokenVerifier.Verified) result).token();
            Optional<Rejection> bad = policy.check(vt);
            if (bad.isPresent()) {
                Rejection r = bad.get();
                String header = r.status() == 401 ? REALM + ", error=\"invalid_token\"" : REALM + ", error=\"insufficient_scope\"";
                return deny(facts, "token:" + r.code(), r.code(),
                        Stop.openAiError(r.status(), r.type(), r.code(), r.message(), "WWW-Authenticate", header));
            }
            // Only now the body (and the raw URI where the path decides): a caller without a valid
            // token costs APISIX no round trip. The cookie the call did not have travels in the same
            // batch, and a token cookie then gets the refusal it would have got before the token.
            Requirements needs = resolver.pathDecides(request.method(), request.path()) ? modelNeedsWithRawUri : modelNeeds;
            return ctx.fetch(request, needs).thenCompose(full -> {
                Optional<TokenCarriers.Place> inCookie = cookie.isPresent() ? Optional.empty()
                        : TokenCarriers.find(full.args(), full.var(TokenCarriers.COOKIE_VAR));
                if (inCookie.isPresent()) {
                    return oneTokenMethod(facts, inCookie.get(), true);
                }
                Principal principal = policy.principal(vt);
                facts.principal(principal);
                return authorize(full, facts, principal, ctx);
            });
        });
    }

    private CompletionStage<RequestDecision> authorize(HttpRequest request, CallFacts facts, Principal principal,
                                                       CallContext ctx) {
        List<ModelRequest.NamedValue> headerModels = new ArrayList<>();
        for (String h : conf.modelHeaders()) {
            request.var(AuthConf.headerVar(h)).ifPresent(v -> headerModels.add(new ModelRequest.NamedValue(h, v)));
        }
        ModelOutcome outcome = resolver.resolve(new ModelRequest(request.method(), request.path(),
                request.var(CanonicalPath.RAW_TARGET_VAR), request.args(), request.var("http_content_type").filter(s -> !s.isEmpty()),
                headerModels, request.body()));
        if (outcome instanceof ModelOutcome.Refused refused) {
            Rejection r = refused.rejection();
            return deny(facts, "model:" + r.code(), "bad_request", Stop.openAiError(r.status(), r.type(), r.code(), r.message()));
        }
        if (outcome instanceof ModelOutcome.Resolved res) {
            facts.model(res.model());
            Entitlements.Verdict v = entitlements.decide(principal, res.model());
            String denied = res.model();
            // Every other model the request uses (an Ollama copy's source, a create's base) must be entitled too.
            for (String other : res.alsoNamed()) {
                if (!v.allowed()) {
                    break;
                }
                Entitlements.Verdict ov = entitlements.decide(principal, other);
                if (!ov.allowed()) {
                    v = ov;
                    denied = other;
                }
            }
            if (!v.allowed()) {
                Stop stop = conf.denyStatus() == 403
                        ? Stop.openAiError(403, "invalid_request_error", "model_not_permitted",
                                "You are not permitted to use the model `" + denied + "`.")
                        : Stop.openAiError(404, "invalid_request_error", "model_not_found",
                                "The model `" + denied + "` does not exist or you do not have access to it.");
                return deny(facts, v.ruleId(), "not_entitled", stop);
            }
            facts.decide(new Decision(NAME, v.ruleId(), Decision.Outcome.ALLOW, "entitled to model"));
        } else {
            facts.decide(new Decision(NAME, "model-free-path", Decision.Outcome.ALLOW, "path carries no model"));
            Optional<ModelListFilter.Kind> list = ModelListFilter.kindOf(request.method(), request.path());
            if (list.isPresent() && ctx.exchange().isPresent()) {
                ctx.exchange().get().put(MODEL_LIST, list.get());
                return injectCredential(facts, true);
            }
        }
        return injectCredential(facts, false);
    }

    /** @param plainResponse ask the upstream for an unencoded response (a model list the response phase reads) */
    private CompletionStage<RequestDecision> injectCredential(CallFacts facts, boolean plainResponse) {
        // The client's own credentials never reach the model server, whether or not we inject one.
        RequestRewrite.Builder rw = RequestRewrite.builder()
                .removeHeader("authorization").removeHeader("proxy-authorization")
                .removeHeader("api-key").removeHeader("x-api-key")
                // no second credential reaches the model server, whatever a same-origin app keeps in its cookies
                .removeHeader("cookie");
        if (plainResponse) {
            rw.removeHeader("accept-encoding");
        }
        if (conf.upstreamCredential().isEmpty()) {
            metrics.outcome("allow");
            return RequestDecision.proceed(rw.build());
        }
        String name = conf.upstreamCredential().get();
        if (offline) {
            // Replay never reads the credential store: the injection is decided, its value is not fetched.
            rw.setHeader(conf.credentialHeader(), "[" + name + ": not fetched offline]");
            facts.decide(new Decision(NAME, "credential:" + name, Decision.Outcome.REWRITE,
                    "upstream credential injected (not fetched offline)"));
            return RequestDecision.proceed(rw.build());
        }
        Optional<CredentialCache> cache = credentials.get();
        if (cache.isEmpty()) {
            // No usable PAM_CREDENTIAL_KEY (logged at conf time): configuration the operator must fix.
            return deny(facts, "credential:" + name, CredentialCache.NOT_CONFIGURED, CredentialRefusal.stop(CredentialCache.NOT_CONFIGURED));
        }
        return cache.get().get(name).handle((cred, err) -> {
            if (err != null) {
                String code = CredentialRefusal.code(err);
                facts.decide(new Decision(NAME, "credential:" + name, Decision.Outcome.ERROR, "upstream credential unavailable: " + code));
                metrics.outcome(code);
                return new RequestDecision.Halt(CredentialRefusal.stop(code));
            }
            String value = "authorization".equals(conf.credentialHeader()) ? "Bearer " + cred.secret() : cred.secret();
            rw.setHeader(conf.credentialHeader(), value);
            facts.credential(name, Long.toString(cred.version()));
            facts.decide(new Decision(NAME, "credential:" + name, Decision.Outcome.REWRITE,
                    "upstream credential v" + cred.version() + " injected"));
            metrics.outcome("allow");
            return new RequestDecision.Proceed(rw.build());
        });
    }

    /**
     * On routes that also list pam-auth in {@code ext-plugin-post-resp}: a model list
     * ({@code GET /v1/models}, {@code /api/tags}) answered by the model server keeps only the models
     * the caller is entitled to. Anything else passes unchanged. A list that cannot be read is
     * withheld (502): it would otherwise name every model on the server.
     */
    @Override
    public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext ctx) {
        Optional<ModelListFilter.Kind> kind = ctx.exchange().flatMap(a -> a.get(MODEL_LIST));
        if (response.status() != 200) {
            return ResponseChange.unchanged();
        }
        CallFacts facts = CallFacts.of(ctx);
        if (kind.isEmpty()) {
            boolean aList = ModelListFilter.kindOf(response.var("request_method").orElse(""), response.var("uri").orElse(""))
                    .isPresent();
            if (!aList) {
                return ResponseChange.unchanged();
            }
            // A model list without the request phase's state: whose list it is cannot be known here.
            facts.decide(new Decision(NAME, "model-list", Decision.Outcome.ERROR, "model list withheld: no request-phase state"));
            metrics.outcome("model_list_unreadable");
            return CompletableFuture.completedFuture(modelListUnavailable());
        }
        Optional<Principal> principal = facts.principal();
        Optional<Body> body = response.body();
        List<String> encodings = response.headers().all("content-encoding");
        boolean encoded = encodings.stream().anyMatch(e -> !e.isBlank() && !e.trim().equalsIgnoreCase("identity"));
        Optional<ModelListFilter.Filtered> filtered = principal.isEmpty() || body.isEmpty() || encoded ? Optional.empty()
                : ModelListFilter.filter(kind.get(), body.get().toByteArray(), name -> entitled(principal.get(), name));
        if (filtered.isEmpty()) {
            facts.decide(new Decision(NAME, "model-list", Decision.Outcome.ERROR, "model list withheld: not a list pam-auth can read"));
            metrics.outcome("model_list_unreadable");
            return CompletableFuture.completedFuture(modelListUnavailable());
        }
        ModelListFilter.Filtered f = filtered.get();
        facts.decide(new Decision(NAME, "model-list", Decision.Outcome.REWRITE, f.kept() + " of " + f.total() + " models listed"));
        return CompletableFuture.completedFuture(ResponseChange.body(Body.wrap(f.body())));
    }

    private static ResponseChange modelListUnavailable() {
        return ResponseChange.replace(502, "application/json", Body.utf8(OpenAiError.json("server_error", "model_list_unavailable",
                "The model list could not be filtered to the models you may use; try again later.")));
    }

    private boolean entitled(Principal principal, String name) {
        if (conf.api() == ModelApi.OLLAMA) {
            Optional<String> canonical = OllamaNames.canonical(name);
            return canonical.isPresent() && entitlements.decide(principal, canonical.get()).allowed();
        }
        return entitlements.decide(principal, name).allowed();
    }

    /**
     * RFC 6750 §3.1 {@code invalid_request}: the token also (or only) travels in the query or a cookie.
     * Checked before any signature work; the request never reaches the model server.
     */
    private CompletionStage<RequestDecision> oneTokenMethod(CallFacts facts, TokenCarriers.Place where, boolean header) {
        String message;
        if (!header) {
            message = "Access tokens are not accepted in the URL query (URLs end up in logs): send the token only in the "
                    + "Authorization header as `Bearer <token>`, and treat the token that was in the URL as exposed.";
        } else if (where == TokenCarriers.Place.QUERY) {
            message = "The request carries an access token in the Authorization header and in the URL query: "
                    + "send it only in the Authorization header.";
        } else {
            message = "The request carries an access token in the Authorization header and in a cookie: "
                    + "send it only in the Authorization header.";
        }
        return deny(facts, header ? "token:multiple-methods" : "token:in-query", "invalid_request",
                Stop.openAiError(400, "invalid_request_error", "invalid_request", message,
                        "WWW-Authenticate", REALM + ", error=\"invalid_request\""));
    }

    private static Stop invalidToken(String message) {
        return Stop.openAiError(401, "invalid_request_error", "invalid_token", message,
                "WWW-Authenticate", REALM + ", error=\"invalid_token\"");
    }

    private CompletionStage<RequestDecision> deny(CallFacts facts, String ruleId, String outcome, Stop stop) {
        facts.decide(new Decision(NAME, ruleId, stop.status() >= 500 ? Decision.Outcome.ERROR : Decision.Outcome.DENY,
                "HTTP " + stop.status()));
        metrics.outcome(outcome);
        return CompletableFuture.completedFuture(new RequestDecision.Halt(stop));
    }

    /** The Cookie lines of the call frame, joined as nginx joins them; empty when the frame has none. */
    private static Optional<String> frameCookies(HttpRequest request) {
        List<String> lines = request.headers().all("cookie").stream().filter(java.util.Objects::nonNull).toList();
        return lines.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", lines));
    }

    /** The token of an {@code Authorization: Bearer <token>} value; empty if absent or another scheme. */
    static Optional<String> bearer(Optional<String> header) {
        if (header.isEmpty()) {
            return Optional.empty();
        }
        String h = header.get().trim();
        if (h.length() < 8 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        String t = h.substring(7).trim();
        return t.isEmpty() ? Optional.empty() : Optional.of(t);
    }
}
