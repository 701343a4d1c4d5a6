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
    public enum Outcome { ALLOW, DENY, HOLD, APPROVE, REWRITE, QUOTA, MASK, BLOCK, ERROR }
}
