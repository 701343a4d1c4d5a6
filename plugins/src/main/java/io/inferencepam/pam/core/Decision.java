package io.inferencepam.pam.core;

/**
 * One policy decision, recorded by pam-record.
 *
 * @param plugin  e.g. {@code pam-auth}
 * @param ruleId  the rule that decided (stable id from the conf, or a built-in rule name)
 * @param outcome what happened
 * @param reason  human-readable, never containing secrets or payloads
 */
public record Decision(String plugin, String ruleId, Outcome outcome, String reason) {
    /** {@code FLAG}: a risk signal (e.g. a pam-guard prompt rule with action flag) that let the call go on; pam-approval may hold it. */
    public enum Outcome { ALLOW, DENY, HOLD, APPROVE, REWRITE, QUOTA, MASK, BLOCK, ERROR, FLAG }
}
