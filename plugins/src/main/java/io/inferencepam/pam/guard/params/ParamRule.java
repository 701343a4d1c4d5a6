package io.inferencepam.pam.guard.params;

import io.inferencepam.pam.auth.Glob;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * One parameter rule of a route: the models it covers and what it enforces on them.
 *
 * @param maxTokens      the cap on output tokens, whatever the shape calls them
 * @param forbid         features refused ({@link Action#DENY}) or removed ({@link Action#REWRITE})
 * @param temperature    the allowed temperature range
 * @param forceStreamOff whether the response must come in one piece
 */
public record ParamRule(String id, List<Glob> models, Action action, OptionalInt maxTokens, Set<Feature> forbid,
        Optional<Range> temperature, boolean forceStreamOff) {

    /** What a rule does with a body that breaks it. */
    public enum Action {
        /** Refuse the call (400 {@code parameter_not_allowed}). */
        DENY,
        /** Correct the body: remove forbidden fields, lower to the cap, clamp into the range, stream off. */
        REWRITE
    }

    /** An inclusive range of numbers. */
    public record Range(BigDecimal min, BigDecimal max) {
        public Range {
            if (min.compareTo(max) > 0) {
                throw new IllegalArgumentException("min " + min.toPlainString() + " is above max " + max.toPlainString());
            }
        }

        boolean contains(BigDecimal v) {
            return v.compareTo(min) >= 0 && v.compareTo(max) <= 0;
        }

        BigDecimal clamp(BigDecimal v) {
            return v.compareTo(min) < 0 ? min : v.compareTo(max) > 0 ? max : v;
        }

        @Override
        public String toString() {
            return min.toPlainString() + " and " + max.toPlainString();
        }
    }

    public ParamRule {
        models = List.copyOf(models);
        forbid = Set.copyOf(forbid);
    }

    /** Whether the rule covers {@code model} (pam-auth's reading of patterns: {@code *} stays within a segment). */
    public boolean covers(String model) {
        for (Glob g : models) {
            if (g.matches(model)) {
                return true;
            }
        }
        return false;
    }
}
