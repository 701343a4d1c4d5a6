package io.inferencepam.bench.runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.Requirements;
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
    private static final String ANY_OBJECT = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}";

    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(new Factory(NOOP, new Plugin() {
            @Override
            public boolean inlineSafe(Phase phase) {
                return true; // does nothing: runs on the event loop
            }
        }), new Factory(BODY, new BodyPlugin()), new ShapeFactory(), new BurnFactory());
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
    private static final class ShapeFactory implements PluginFactory {
        private static final Requirements REQUEST = Requirements.vars("request_id", "remote_addr", "http_user_agent",
                "http_authorization", "http_cookie").withRequestBody();
        private static final Requirements RESPONSE = Requirements.vars("request_id").withResponseBody();

        @Override
        public String name() {
            return RECORD_SHAPE;
        }

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
            return new Plugin() {
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
            };
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
