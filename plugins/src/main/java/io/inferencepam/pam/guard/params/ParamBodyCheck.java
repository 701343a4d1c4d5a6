package io.inferencepam.pam.guard.params;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.guard.BodyCheck;
import io.inferencepam.pam.guard.BodyCheckResult;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Stop;
import java.util.Optional;
import java.util.Set;

/** pam-guard's {@code params} section: the {@link ParamPolicy} as one of the plugin's body checks. */
public final class ParamBodyCheck implements BodyCheck {
    private final ParamPolicy policy;

    private ParamBodyCheck(ParamPolicy policy) {
        this.policy = policy;
    }

    @Override
    public BodyCheckResult check(BodyShape shape, String model, ObjectNode body, CallFacts facts) {
        ParamOutcome outcome = policy.apply(shape, model, body);
        if (outcome instanceof ParamOutcome.Deny d) {
            return BodyCheckResult.deny(d.ruleId(), Stop.openAiError(400, "invalid_request_error", ParamOutcome.CODE, d.message()));
        }
        if (outcome instanceof ParamOutcome.Rewrite r) {
            return BodyCheckResult.rewrite(r.ruleId(), String.join("; ", r.changes()), r.body());
        }
        return BodyCheckResult.pass();
    }

    @Override
    public Optional<Set<String>> reads(BodyShape shape) {
        return Optional.of(policy.reads(shape));
    }

    /** Registers the section {@code params}. */
    public static final class Factory implements BodyCheck.Factory {
        @Override
        public String confKey() {
            return "params";
        }

        @Override
        public String confSchema() {
            return ParamPolicy.SCHEMA;
        }

        @Override
        public Optional<BodyCheck> create(JsonNode section) throws InvalidConfException {
            if (section == null || section.isMissingNode() || section.isNull()) {
                return Optional.empty();
            }
            try {
                return Optional.of(new ParamBodyCheck(ParamPolicy.fromConf(section)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfException("params", e.getMessage());
            }
        }
    }
}
