package io.inferencepam.pam.auth;

import io.inferencepam.pam.core.Principal;
import java.util.List;
import java.util.Set;

/**
 * One entitlement: who (any of the listed groups/roles, subjects or OAuth clients) may or may not
 * call which models.
 */
public record EntitlementRule(String id, Set<String> groups, Set<String> subjects, Set<String> clients,
                              List<Glob> allow, List<Glob> deny) {

    public EntitlementRule {
        groups = Set.copyOf(groups);
        subjects = Set.copyOf(subjects);
        clients = Set.copyOf(clients);
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
    }

    public boolean appliesTo(Principal p) {
        if (subjects.contains(p.subject())) {
            return true;
        }
        if (!p.clientId().isEmpty() && clients.contains(p.clientId())) {
            return true;
        }
        for (String g : p.groups()) {
            if (groups.contains(g)) {
                return true;
            }
        }
        return false;
    }

    /** An allow pattern matches the model, {@code *} staying within a segment ({@link Glob#matches}). */
    boolean allows(String model) {
        for (Glob g : allow) {
            if (g.matches(model)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A deny pattern matches the model, every {@code *} crossing segments ({@link Glob#matchesAcrossSegments}):
     * a deny covers at least what it covered before {@code *} stopped at separators.
     */
    boolean denies(String model) {
        for (Glob g : deny) {
            if (g.matchesAcrossSegments(model)) {
                return true;
            }
        }
        return false;
    }
}
