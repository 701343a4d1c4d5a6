package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code audit search} and {@code export} select. Every present criterion must match.
 *
 * @param principal matches the principal's subject, username or client id
 * @param decision  matches a decision outcome ({@code deny}, {@code hold}, {@code mask}, …) or the
 *                  request outcome ({@code stop}, {@code pass}, {@code rewrite}, {@code error});
 *                  {@code admitted} selects the admitted entries of calls that have no final record
 *                  (the runner stopped while their upstream ran: crash, kill, OOM) instead of call records
 * @param from      inclusive, on the record's start time
 * @param to        exclusive
 * @param approval  an approval id: its whole story, i.e. its own events ({@code kind: "approval"}:
 *                  held, notified, decided, resumed, consumed, denied_*, expired) and the call records
 *                  that name it; the other criteria (but {@code from}/{@code to}) then select among
 *                  those call records only
 */
public record AuditFilter(Optional<String> principal, Optional<String> model, Optional<String> route,
                          Optional<String> decision, Optional<Instant> from, Optional<Instant> to, int limit,
                          Optional<String> approval) {

    public static final AuditFilter ALL = new AuditFilter(Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty(), Integer.MAX_VALUE);

    /** Without an approval criterion. */
    public AuditFilter(Optional<String> principal, Optional<String> model, Optional<String> route, Optional<String> decision,
                       Optional<Instant> from, Optional<Instant> to, int limit) {
        this(principal, model, route, decision, from, to, limit, Optional.empty());
    }

    public static AuditFilter fromQuery(Map<String, String> q, int defaultLimit) {
        return new AuditFilter(opt(q, "principal"), opt(q, "model"), opt(q, "route"), opt(q, "decision"),
                opt(q, "from").map(AuditFilter::time), opt(q, "to").map(AuditFilter::time),
                opt(q, "limit").map(Integer::parseInt).orElse(defaultLimit), opt(q, "approval"));
    }

    private static Optional<String> opt(Map<String, String> q, String name) {
        return Optional.ofNullable(q.get(name)).filter(s -> !s.isBlank());
    }

    /** ISO-8601 instant ({@code 2026-11-29T01:00:00Z}) or epoch milliseconds. */
    public static Instant time(String s) {
        try {
            return Instant.parse(s.trim());
        } catch (DateTimeParseException e) {
            try {
                return Instant.ofEpochMilli(Long.parseLong(s.trim()));
            } catch (NumberFormatException n) {
                throw new IllegalArgumentException("not a time: use ISO-8601 (2026-01-31T12:00:00Z) or epoch milliseconds");
            }
        }
    }

    public boolean isCall(JsonNode r) {
        return "call".equals(r.path("kind").asText());
    }

    public boolean isAdmitted(JsonNode r) {
        return "admitted".equals(r.path("kind").asText());
    }

    /** {@code decision=admitted}: admitted entries without an outcome, not call records. */
    public boolean wantsUnfinished() {
        return decision.filter("admitted"::equalsIgnoreCase).isPresent();
    }

    /**
     * Whether the entry is selected: a call record, or with {@link #wantsUnfinished} an admitted
     * entry (whether its call has an outcome is for the caller to tell, it needs the later entries).
     */
    public boolean matches(JsonNode r) {
        boolean unfinished = wantsUnfinished();
        if (approval.isPresent() && !unfinished) {
            if ("approval".equals(r.path("kind").asText())) {
                return approval.get().equals(r.path("approval_id").asText(null)) && inTime(r, "at");
            }
            if (!isCall(r) || !approval.get().equals(r.path("approval").path("id").asText(null))) {
                return false;
            }
        }
        if (unfinished ? !isAdmitted(r) : !isCall(r)) {
            return false;
        }
        if (principal.isPresent()) {
            JsonNode p = r.path("principal");
            String want = principal.get();
            if (!want.equals(p.path("subject").asText(null)) && !want.equals(p.path("username").asText(null))
                    && !want.equals(p.path("client_id").asText(null))) {
                return false;
            }
        }
        if (model.isPresent() && !model.get().equals(r.path("model").asText(null))) {
            return false;
        }
        if (route.isPresent() && !route.get().equals(r.path("route_id").asText(null))) {
            return false;
        }
        if (decision.isPresent() && !unfinished) {
            String want = decision.get();
            boolean hit = want.equalsIgnoreCase(r.path("request_outcome").asText(""));
            for (JsonNode d : r.path("decisions")) {
                hit |= want.equalsIgnoreCase(d.path("outcome").asText(""));
            }
            if (!hit) {
                return false;
            }
        }
        return inTime(r, unfinished ? "at" : "start");
    }

    private boolean inTime(JsonNode r, String field) {
        if (from.isPresent() || to.isPresent()) {
            Instant start;
            try {
                start = Instant.parse(r.path(field).asText());
            } catch (DateTimeParseException e) {
                return false;
            }
            if (from.isPresent() && start.isBefore(from.get())) {
                return false;
            }
            if (to.isPresent() && !start.isBefore(to.get())) {
                return false;
            }
        }
        return true;
    }

    /** Where a store scan may start: records are stored at or after their start time. */
    public long scanFromMillis() {
        return from.map(Instant::toEpochMilli).orElse(0L);
    }
}
