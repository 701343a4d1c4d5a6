package io.inferencepam.pam.record.sink;

/** An entry with its chain fields set: what sinks and the spool store, one canonical JSON line. */
public record ChainedEntry(String instance, long seq, String json) {
}
