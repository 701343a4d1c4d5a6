package io.inferencepam.pam.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A step that belongs in the audit trail and is not an HTTP call: an approval opened, decided,
 * used or expired. Stored as its own hash-chained entry ({@code kind} = {@link #kind}); the
 * {@code fields} (strings, numbers, booleans, lists and maps of those, or null) link it to calls,
 * e.g. by request id. Never put a secret, a token or a body in them.
 *
 * @param kind     the entry's kind ({@code approval}); distinct from {@code call}, {@code admitted}, {@code checkpoint}
 * @param event    the step within that kind ({@code held}, {@code decided}, …)
 * @param atMillis when it happened (epoch ms)
 */
public record AuditEvent(String kind, String event, long atMillis, Map<String, Object> fields) {
    public AuditEvent {
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields)); // keeps the caller's order; allows null values
    }
}
