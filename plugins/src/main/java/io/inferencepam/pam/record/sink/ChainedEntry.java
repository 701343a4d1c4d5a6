package io.inferencepam.pam.record.sink;

import java.nio.charset.StandardCharsets;

/**
 * An entry with its chain fields set: what sinks and the spool store, one canonical JSON line,
 * held as the UTF-8 bytes that were hashed (sinks write them as they are: no re-encoding).
 * Never modify {@code utf8}.
 */
public record ChainedEntry(String instance, long seq, byte[] utf8) {

    public ChainedEntry(String instance, long seq, String json) {
        this(instance, seq, json.getBytes(StandardCharsets.UTF_8));
    }

    /** The JSON text (decodes; for readers and tests, not the write path). */
    public String json() {
        return new String(utf8, StandardCharsets.UTF_8);
    }
}
