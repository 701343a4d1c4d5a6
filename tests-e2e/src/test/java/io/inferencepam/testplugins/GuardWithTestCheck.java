package io.inferencepam.testplugins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.guard.BodyCheck;
import io.inferencepam.pam.guard.BodyCheckResult;
import io.inferencepam.pam.guard.GuardPluginFactory;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The real pam-guard with one test body check registered the way the parameter policy will be:
 * {@code "cap_max_tokens": N} rewrites a larger {@code max_tokens} to N. Named
 * {@code test-guard-cap} so it can sit beside the shipped {@code pam-guard}.
 */
final class GuardWithTestCheck implements PluginFactory {
    private final GuardPluginFactory guard;

    GuardWithTestCheck(PluginEnvironment env) {
        this.guard = new GuardPluginFactory(env, List.of(new BodyCheck.Factory() {
            @Override
            public String confKey() {
                return "cap_max_tokens";
            }

            @Override
            public String confSchema() {
                return "{\"type\": \"integer\", \"minimum\": 1}";
            }

            @Override
            public Optional<BodyCheck> create(JsonNode section) {
                if (!section.isInt()) {
                    return Optional.empty();
                }
                int cap = section.asInt();
                return Optional.of((shape, model, body, facts) -> {
                    JsonNode mt = body.get("max_tokens");
                    if (mt == null || mt.asInt() <= cap) {
                        return BodyCheckResult.pass();
                    }
                    ObjectNode copy = body.deepCopy();
                    copy.put("max_tokens", cap);
                    return BodyCheckResult.rewrite("test-cap/max_tokens", "max_tokens capped", copy);
                });
            }
        }));
    }

    @Override
    public String name() {
        return "test-guard-cap";
    }

    @Override
    public String confSchema() {
        return guard.confSchema();
    }

    @Override
    public Set<Phase> phases() {
        return guard.phases();
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        return guard.create(conf);
    }
}
