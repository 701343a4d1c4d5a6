package io.inferencepam.pam.guard.params;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What the parameter policy decided for one request body. None of the texts carries a value taken
 * from the body: fields are named by their canonical spelling, limits come from the conf.
 */
public sealed interface ParamOutcome {

    /** The stable error code of every refusal (HTTP 400). */
    String CODE = "parameter_not_allowed";

    /** No rule applies, or the body already obeys the rule. */
    record Pass() implements ParamOutcome {
    }

    /**
     * Refuse the call with 400 {@link #CODE}.
     *
     * @param field   the parameter's canonical path, e.g. {@code logprobs} or {@code options.num_predict}
     * @param ruleId  the conf rule that refused it
     * @param message a sentence for the client that names the field and says what would be accepted
     */
    record Deny(String field, String ruleId, String message) implements ParamOutcome {
    }

    /**
     * Send {@code body} upstream instead of the client's body (a copy: the caller's tree is untouched).
     *
     * @param changes one line per change, e.g. {@code "max_tokens lowered to 1024"}, for the decision record
     */
    record Rewrite(ObjectNode body, List<String> changes, String ruleId) implements ParamOutcome {
        public Rewrite {
            changes = List.copyOf(changes);
        }
    }

    /** The one {@link Pass} value. */
    Pass PASS = new Pass();
}
