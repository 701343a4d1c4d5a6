package io.inferencepam.pam.record.archive;

import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.charset.StandardCharsets;

/**
 * The line format of archive segments and of {@code pamctl audit export --follow}:
 * {@code {"stream_id":"<id>","entry":<the entry exactly as stored>}}. The entry is embedded byte
 * for byte (it is canonical JSON already), so a reader that slices it out hashes exactly what the
 * runner hashed, and the stream id tells an at-least-once duplicate from a new entry. No
 * canonical entry can look like this envelope: canonical keys are sorted, so {@code entry} would
 * come before {@code stream_id}.
 */
public final class StreamLine {
    private static final String PREFIX = "{\"stream_id\":\"";
    private static final String MIDDLE = "\",\"entry\":";

    private StreamLine() {
    }

    public static String encode(String streamId, String entryJson) {
        return PREFIX + streamId + MIDDLE + entryJson + "}";
    }

    public static byte[] encodeUtf8(String streamId, String entryJson) {
        return (encode(streamId, entryJson) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The stored entry of an envelope line (position: its stream id), or the line itself as an
     * entry at {@code fallbackPosition} when it is a plain entry (an export or a file-sink line).
     */
    public static StoredEntry decode(String line, String fallbackPosition) {
        if (line.startsWith(PREFIX) && line.endsWith("}")) {
            int mid = line.indexOf(MIDDLE, PREFIX.length());
            if (mid > 0) {
                String id = line.substring(PREFIX.length(), mid);
                if (StreamId.parseOrNull(id) != null) {
                    return new StoredEntry(id, line.substring(mid + MIDDLE.length(), line.length() - 1));
                }
            }
        }
        return new StoredEntry(fallbackPosition, line);
    }
}
