package io.inferencepam.pam.approval;

import io.inferencepam.pam.auth.Glob;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One hold rule from the route conf. Every condition the rule names must hold (AND); a rule that
 * matches holds the call. Conditions are checked cheapest first, so the body is parsed only for a
 * call that every other condition of the rule already matched.
 *
 * @param models        the model matches one of these patterns ({@link Glob})
 * @param lacksGroups   the principal is in none of these groups
 * @param subjects      the principal's subject is one of these
 * @param clients       the principal's OAuth client is one of these
 * @param outside       the call arrives outside this window
 * @param paramsAbove   a body parameter is above its threshold (any of them), read as {@link BodyParams} reads it;
 *                      an output-token limit stands for every limit of its level, so the family is held
 *                      above the lowest threshold the rule gives any of them
 * @param holdMissingLimit with {@code paramsAbove} naming output-token limits: a call that gives none of
 *                      them is held too (the server's default is the rest of the context, or no limit)
 * @param flagged       an earlier plugin of the call flagged it (a {@link Decision.Outcome#FLAG} decision)
 * @param always        every call
 */
record HoldRule(String id, List<Glob> models, Set<String> lacksGroups, Set<String> subjects, Set<String> clients,
                Optional<TimeWindow> outside, Map<String, Double> paramsAbove, boolean holdMissingLimit, boolean flagged,
                boolean always) {


    HoldRule {
        models = List.copyOf(models);
        lacksGroups = Set.copyOf(lacksGroups);
        subjects = Set.copyOf(subjects);
        clients = Set.copyOf(clients);
        paramsAbove = Map.copyOf(paramsAbove);
        if (!always && models.isEmpty() && lacksGroups.isEmpty() && subjects.isEmpty() && clients.isEmpty()
                && outside.isEmpty() && paramsAbove.isEmpty() && !flagged) {
            throw new IllegalArgumentException("a rule needs at least one condition (or \"always\": true)");
        }
    }

    /** What a rule looks at. {@code params} is parsed on first use and shared by the rules of the call. */
    interface Call {
        Principal principal();

        String model();

        long epochMillis();

        List<Decision> earlierDecisions();

        BodyParams params();
    }

    boolean matches(Call call) {
        if (always) {
            return true;
        }
        Principal p = call.principal();
        if (!subjects.isEmpty() && !subjects.contains(p.subject())) {
            return false;
        }
        if (!clients.isEmpty() && (p.clientId().isEmpty() || !clients.contains(p.clientId()))) {
            return false;
        }
        if (!lacksGroups.isEmpty() && inAny(p.groups())) {
            return false;
        }
        if (!models.isEmpty() && !anyModel(call.model())) {
            return false;
        }
        if (outside.isPresent() && outside.get().contains(java.time.Instant.ofEpochMilli(call.epochMillis()))) {
            return false;
        }
        if (flagged && !isFlagged(call.earlierDecisions())) {
            return false;
        }
        return paramsAbove.isEmpty() || anyAbove(call.params());
    }

    private boolean inAny(List<String> groups) {
        for (String g : groups) {
            if (lacksGroups.contains(g)) {
                return true;
            }
        }
        return false;
    }

    private boolean anyModel(String model) {
        if (model.isEmpty()) {
            return false;
        }
        for (Glob g : models) {
            // a hold is a restriction: read patterns the wide way, as pam-auth reads deny patterns
            if (g.matchesAcrossSegments(model)) {
                return true;
            }
        }
        return false;
    }

    private boolean anyAbove(BodyParams params) {
        boolean limits = false;
        boolean limitGiven = false;
        for (Map.Entry<String, Double> e : paramsAbove.entrySet()) {
            if (params.above(e.getKey(), e.getValue())) {
                return true;
            }
            if (BodyParams.isTokenLimit(e.getKey())) {
                // only the limits the rule names count as given: a server may not read another member
                limits = true;
                limitGiven |= params.given(e.getKey());
            }
        }
        // no output-token limit given is no limit: the server generates up to the end of the context
        return holdMissingLimit && limits && !limitGiven && params.isObject();
    }

    static boolean isFlagged(List<Decision> decisions) {
        for (Decision d : decisions) {
            if (d.outcome() == Decision.Outcome.FLAG) { // pam-guard's prompt rules with action flag
                return true;
            }
        }
        return false;
    }
}
