package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.PathPattern;
import java.util.Set;

/**
 * A route's own allow or deny rule. A deny matches broadly (any letter case in the path, and every
 * method when none is listed), an allow narrowly (exact case): a rule can only ever refuse more than
 * it says, never open more.
 *
 * @param id      stable id from the conf; decisions record it as {@code custom:<id>}
 * @param methods upper-case methods; empty means every method
 * @param path    the path pattern ({@link PathPattern} syntax)
 * @param allow   true for allow, false for deny
 * @param reason  shown to the caller on a deny
 */
record CustomRule(String id, Set<String> methods, PathPattern path, boolean allow, String reason) {

    CustomRule {
        methods = Set.copyOf(methods);
    }

    boolean matches(String method, String[] segments, String[] lowerSegments) {
        boolean methodMatches = methods.isEmpty() || methods.contains(method)
                || ("HEAD".equals(method) && methods.contains("GET"));
        if (!methodMatches) {
            return false;
        }
        return allow ? path.matches(segments) : path.matchesIgnoringCase(lowerSegments);
    }

    String ruleId() {
        return "custom:" + id;
    }
}
