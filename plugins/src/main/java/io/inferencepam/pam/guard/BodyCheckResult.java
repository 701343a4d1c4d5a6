package io.inferencepam.pam.guard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.runner.spi.Stop;
import java.util.Objects;

/** What a {@link BodyCheck} decided: pass, refuse the call, or send the model server another body. */
public sealed interface BodyCheckResult {

    /** Nothing to do. */
    record Pass() implements BodyCheckResult {
    }

    /**
     * Refuse the call with {@code stop} (an OpenAI-style error, e.g. 400 naming the field).
     *
     * @param ruleId the deciding rule, recorded in the call's decisions
     */
    record Deny(String ruleId, Stop stop) implements BodyCheckResult {
        public Deny {
            Objects.requireNonNull(ruleId);
            Objects.requireNonNull(stop);
        }
    }

    /**
     * Replace the body: {@code body} is what the next checks see and what the model server receives.
     *
     * @param ruleId the deciding rule
     * @param reason what was changed (field names, never values), recorded
     */
    record Rewrite(String ruleId, String reason, ObjectNode body) implements BodyCheckResult {
        public Rewrite {
            Objects.requireNonNull(ruleId);
            Objects.requireNonNull(reason);
            Objects.requireNonNull(body);
        }
    }

    BodyCheckResult PASS = new Pass();

    static BodyCheckResult pass() {
        return PASS;
    }

    static BodyCheckResult deny(String ruleId, Stop stop) {
        return new Deny(ruleId, stop);
    }

    static BodyCheckResult rewrite(String ruleId, String reason, ObjectNode body) {
        return new Rewrite(ruleId, reason, body);
    }
}
