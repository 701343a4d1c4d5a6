package io.inferencepam.pam.record.chain;

/**
 * One stored audit entry as read back: where it is ({@code position}: a stream entry id, or
 * {@code file:line}) and its JSON text.
 */
public record StoredEntry(String position, String json) {
}
