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
import io.inferencepam.runner.spi.Requirements;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Benchmark-only plugins, registered by ServiceLoader from the benchmarks jar (never shipped in
 * the product jar). They do nothing, so the load driver measures the runtime itself:
 * <ul>
 *   <li>{@code bench-noop}: headers only, proceeds unchanged;</li>
 *   <li>{@code bench-body}: declares the request body (one ExtraInfo round trip per call) and
 *       fails the call (the runtime answers Stop 503) if the body did not arrive, so the driver's
 *       reply-size check notices a runtime that silently skipped the fetch.</li>
 * </ul>
 */
public final class BenchPluginProvider implements PluginProvider {
    static final String NOOP = "bench-noop";
    static final String BODY = "bench-body";
    private static final String ANY_OBJECT = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}";

    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(new Factory(NOOP, new Plugin() {
        }), new Factory(BODY, new BodyPlugin()));
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
}
