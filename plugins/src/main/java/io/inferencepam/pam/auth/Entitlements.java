package io.inferencepam.pam.auth;

import io.inferencepam.pam.core.Principal;
import java.util.List;

/**
 * Least privilege per model: a caller may use a model only if a rule that applies to them allows
 * it and no rule that applies to them denies it. Deny wins over allow; no rule means deny.
 */
public final class Entitlements {
    /** The rule id recorded when nothing allowed the model. */
    public static final String DEFAULT_DENY = "default-deny";

    private final List<EntitlementRule> rules;

    public Entitlements(List<EntitlementRule> rules) {
        this.rules = List.copyOf(rules);
    }

    public Verdict decide(Principal principal, String model) {
        String allowedBy = null;
        for (EntitlementRule r : rules) {
            if (!r.appliesTo(principal)) {
                continue;
            }
            if (r.denies(model)) {
                return new Verdict(false, r.id());
            }
            if (allowedBy == null && r.allows(model)) {
                allowedBy = r.id();
            }
        }
        return allowedBy == null ? new Verdict(false, DEFAULT_DENY) : new Verdict(true, allowedBy);
    }

    /** @param ruleId the rule that allowed or denied, or {@link #DEFAULT_DENY} */
    public record Verdict(boolean allowed, String ruleId) {
    }
}
