package io.inferencepam.bench.runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.ResponseOutcome;
import io.inferencepam.runner.spi.Stop;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Benchmark-only plugins, registered by ServiceLoader from the benchmarks jar (never shipped in
 * the product jar). They do nothing, so the load driver measures the runtime itself:
 * <ul>
 *   <li>{@code bench-noop}: headers only, proceeds unchanged; declared inline-safe, so it runs on the event loop;</li>
 *   <li>{@code bench-body}: declares the request body (one ExtraInfo round trip per call) and
 *       fails the call (the runtime answers Stop 503) if the body did not arrive, so the driver's
 *       reply-size check notices a runtime that silently skipped the fetch.</li>
 *   <li>{@code bench-record-shape}: asks exactly what pam-record asks (same vars, both bodies, both
 *       phases, correlated; the same hooks: beforeUpstream and both outcome observers) and does
 *       nothing with it, so "pam-record vs this" isolates the audit
 *       work from the protocol round trips any plugin with these needs would cost.</li>
 *   <li>{@code bench-auth-shape}: asks exactly what pam-auth asks for a cached-token SDK call
 *       with its default conf (the Authorization header before the chain; then, in one fetch, the
 *       cookie, the content type, the model header {@code x-model} and the body) and answers as
 *       pam-auth does (a rewrite removing the client's credential headers), doing nothing else, on
 *       a plugin thread as pam-auth runs today: "pam-auth vs this" is pam-auth's own CPU beyond the
 *       protocol and the hand-offs any plugin with its needs pays.
 *       {@code bench-auth-shape-inline}: the same, declared inline-safe (on the event loop while
 *       the runtime's ChainCost keeps the phase there).</li>
 *   <li>{@code bench-mask-shape}: pam-mask's shape (request: the constant rewrite dropping
 *       {@code accept-encoding}; response: the response body, answered with a body of the same bytes).
 *       With {@code bench-record-shape} and {@code bench-auth-shape} in pam-record, pam-auth and
 *       pam-mask's places it is the full chain's protocol shape.</li>
 *   <li>{@code bench-burn}: declares the request body and spins on its plugin thread for
 *       {@code ns_per_byte} nanoseconds per body byte (conf {@code {"ns_per_byte": 20}}): the
 *       CPU shape of a bounded linear scan of the body, such as pam-auth's model extraction.</li>
 * </ul>
 */
public final class BenchPluginProvider implements PluginProvider {
    static final String NOOP = "bench-noop";
    static final String BODY = "bench-body";
    public static final String RECORD_SHAPE = "bench-record-shape";
    static final String BURN = "bench-burn";
    static final String AUTH_SHAPE = "bench-auth-shape";
    static final String AUTH_SHAPE_INLINE = "bench-auth-shape-inline";
    static final String MASK_SHAPE = "bench-mask-shape";
    private static final String ANY_OBJECT = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}";

    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(new Factory(NOOP, new Plugin() {
            @Override
            public boolean inlineSafe(Phase phase) {
                return true; // does nothing: runs on the event loop
            }
        }), new Factory(BODY, new BodyPlugin()), new BothPhases(RECORD_SHAPE, new RecordShape()), new BurnFactory(),
                new Factory(AUTH_SHAPE, new AuthShape(false)), new Factory(AUTH_SHAPE_INLINE, new AuthShape(true)),
                new BothPhases(MASK_SHAPE, new MaskShape()));
    }

    private record Factory(String name, Plugin plugin) implements PluginFactory {
        @Override
        public String confSchema() {
            return ANY_OBJECT;
        }

        @Override
        public Set<Phase> phases() {
            return EnumSet.of(Phase.REQUEST);
        }

        @Override
        public Plugin create(JsonNode conf) {
            return plugin;
        }
    }

    /** pam-record's requirements (see RecordPlugin.requirements with the default conf), no work. */
    private static final class RecordShape implements Plugin {
        private static final Requirements REQUEST = Requirements.vars("request_id", "remote_addr", "http_user_agent",
                "http_authorization", "http_cookie").withRequestBody();
        private static final Requirements RESPONSE = Requirements.vars("request_id").withResponseBody();

        @Override
        public Requirements requirements(Phase phase) {
            return phase == Phase.REQUEST ? REQUEST : RESPONSE;
        }

        @Override
        public boolean correlatesPhases() {
            return true;
        }

        // pam-record overrides these three, and the runtime only runs what a conf's plugins
        // override: without them the shape skipped the beforeUpstream step and the two
        // outcome hand-offs to the plugin threads, and "audit CPU beyond shape" charged the
        // runtime's cost of those to the audit (session 5).
        @Override
        public Optional<Stop> beforeUpstream(RequestOutcome pending, CallContext context) {
            return Optional.empty();
        }

        @Override
        public void onRequestOutcome(RequestOutcome outcome, CallContext context) {
        }

        @Override
        public void onResponseOutcome(ResponseOutcome outcome, CallContext context) {
        }
    }

    private record BothPhases(String name, Plugin plugin) implements PluginFactory {
        @Override
        public String confSchema() {
            return ANY_OBJECT;
        }

        @Override
        public Set<Phase> phases() {
            return EnumSet.of(Phase.REQUEST, Phase.RESPONSE);
        }

        @Override
        public Plugin create(JsonNode conf) {
            return plugin;
        }
    }

    /**
     * pam-auth's protocol for a cached-token chat call with its default conf (PamAuthPlugin: the
     * requirements, the cookie read from the frame when it is there, the one fetch once the token
     * passed, correlation only for model lists, the credential-removing rewrite), without its work.
     */
    private static final class AuthShape implements Plugin {
        private static final Requirements BEFORE = Requirements.vars("http_authorization");
        private static final Requirements AFTER_TOKEN = Requirements.vars("http_cookie", "http_content_type", "http_x_model").withRequestBody();
        private static final RequestRewrite CREDENTIALS_REMOVED = RequestRewrite.builder().removeHeader("authorization")
                .removeHeader("proxy-authorization").removeHeader("api-key").removeHeader("x-api-key").removeHeader("cookie").build();
        private final boolean inline;

        AuthShape(boolean inline) {
            this.inline = inline;
        }

        @Override
        public Requirements requirements(Phase phase) {
            return phase == Phase.REQUEST ? BEFORE : Requirements.NONE;
        }

        @Override
        public boolean inlineSafe(Phase phase) {
            return inline;
        }

        @Override
        public boolean correlatesPhases() {
            return true;
        }

        @Override
        public boolean correlatesCall(String method, String path) {
            return false; // pam-auth correlates model lists only
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            context.known(request, "http_cookie");
            return context.fetch(request, AFTER_TOKEN).thenApply(full -> new RequestDecision.Proceed(CREDENTIALS_REMOVED));
        }
    }

    /** pam-mask's protocol: a constant request rewrite, and the response body answered with a body. */
    private static final class MaskShape implements Plugin {
        private static final RequestRewrite DROP_ACCEPT_ENCODING = RequestRewrite.builder().removeHeader("accept-encoding").build();
        private static final Requirements RESPONSE = Requirements.NONE.withResponseBody();

        @Override
        public Requirements requirements(Phase phase) {
            return phase == Phase.RESPONSE ? RESPONSE : Requirements.NONE;
        }

        @Override
        public boolean correlatesPhases() {
            return true;
        }

        @Override
        public boolean correlatesCall(String method, String path) {
            return false;
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            return RequestDecision.proceed(DROP_ACCEPT_ENCODING);
        }

        @Override
        public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
            // pam-mask answers the chain's completion (one e-mail) with the masked body: a body of the same size
            return CompletableFuture.completedFuture(ResponseChange.body(Body.wrap(response.body().orElseThrow().toByteArray())));
        }
    }

    private static final class BodyPlugin implements Plugin {
        private static final Requirements NEEDS = Requirements.NONE.withRequestBody();

        @Override
        public Requirements requirements(Phase phase) {
            return phase == Phase.REQUEST ? NEEDS : Requirements.NONE;
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            if (request.body().isEmpty() || request.body().get().isEmpty()) {
                return CompletableFuture.failedFuture(new IllegalStateException("bench-body: no request body"));
            }
            return RequestDecision.proceed();
        }
    }

    private static final class BurnFactory implements PluginFactory {
        private static final Requirements NEEDS = Requirements.NONE.withRequestBody();

        @Override
        public String name() {
            return BURN;
        }

        @Override
        public String confSchema() {
            return ANY_OBJECT;
        }

        @Override
        public Set<Phase> phases() {
            return EnumSet.of(Phase.REQUEST);
        }

        @Override
        public Plugin create(JsonNode conf) {
            long nsPerByte = conf.path("ns_per_byte").asLong(20);
            return new Plugin() {
                @Override
                public Requirements requirements(Phase phase) {
                    return phase == Phase.REQUEST ? NEEDS : Requirements.NONE;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    long until = System.nanoTime() + nsPerByte * request.body().map(b -> (long) b.length()).orElse(0L);
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    return RequestDecision.proceed();
                }
            };
        }
    }
}
