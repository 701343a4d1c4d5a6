package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Requirements;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Benchmark-only stand-in for pam-auth in front of pam-approval (never in the product jar): the
 * principal is the {@code x-bench-user} header (issuer fixed, groups from the conf), the model
 * comes from the conf. It lets the approval benchmarks hold thousands of calls of many principals
 * without an identity provider; everything after it is the real pam-approval.
 */
public final class ApprovalBenchPlugins implements PluginProvider {
    static final String NAME = "bench-principal";

    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(new PluginFactory() {
            @Override
            public String name() {
                return NAME;
            }

            @Override
            public String confSchema() {
                return "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\"}";
            }

            @Override
            public Set<Phase> phases() {
                return EnumSet.of(Phase.REQUEST);
            }

            @Override
            public Plugin create(JsonNode conf) {
                List<String> groups = new ArrayList<>();
                conf.path("groups").forEach(g -> groups.add(g.asText()));
                String model = conf.path("model").asText("");
                return new Plugin() {
                    @Override
                    public Requirements requirements(Phase phase) {
                        return Requirements.vars("http_x_bench_user");
                    }

                    @Override
                    public boolean correlatesPhases() {
                        return true;
                    }

                    @Override
                    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                        String user = request.var("http_x_bench_user").orElse("anonymous");
                        CallFacts facts = CallFacts.of(context);
                        facts.principal(new Principal("https://bench.invalid", "sub-" + user, user, groups, "bench"));
                        if (model.isEmpty()) {
                            facts.decide(new Decision("pam-auth", "model-free-path", Decision.Outcome.ALLOW, "bench"));
                        } else {
                            facts.model(model);
                        }
                        return RequestDecision.proceed();
                    }
                };
            }
        });
    }
}
