package io.inferencepam.pam.core;

/**
 * Where plugins put {@link AuditEvent}s: the runner's pam-record trail (the same hash chain,
 * sink and spool as the call records). Never blocks on the store.
 */
@FunctionalInterface
public interface AuditTrail {
    /** False when the event could not be kept anywhere (counted lost by pam-record). */
    boolean append(AuditEvent event);
}
