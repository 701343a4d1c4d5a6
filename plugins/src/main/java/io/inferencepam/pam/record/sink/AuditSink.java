package io.inferencepam.pam.record.sink;

import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Where audit entries end up. Implementations are used by one writer thread for writes and by
 * readers (control API, pamctl) concurrently.
 */
public interface AuditSink extends AutoCloseable {

    /** Short description for logs and metrics, e.g. {@code redis-stream} or {@code file}; never a password. */
    String kind();

    /** Writes the batch in order, or throws (then an unknown prefix of it may have been written). */
    void write(List<ChainedEntry> batch) throws Exception;

    /**
     * The highest sequence number of {@code instance} already stored (0 if none found): lets the
     * writer skip spooled entries that a failed batch did store after all.
     */
    long highestSeq(String instance) throws Exception;

    /**
     * Visits stored entries in storage order, starting at entries stored at or after
     * {@code fromEpochMillis} where the store can tell (0 = from the beginning); stops when the
     * visitor returns false.
     */
    void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) throws Exception;

    /**
     * The newest stored entry of {@code instance}, if any: where a runner whose local chain head
     * is gone (a fresh disk) re-anchors its chain. This default reads everything.
     */
    default Optional<StoredEntry> newest(String instance) throws Exception {
        StoredEntry[] last = new StoredEntry[1];
        String field = "\"" + "instance" + "\":";
        scan(0, e -> {
            try {
                if (e.json().contains(field) && instance.equals(CanonicalJson.parse(e.json()).path("instance").asText(null))) {
                    last[0] = e;
                }
            } catch (java.io.IOException ex) {
                // not an entry of this chain
            }
            return true;
        });
        return Optional.ofNullable(last[0]);
    }

    /** What this store's retention may have removed from its head (verify tells trimming from deletion by it). */
    default ChainVerifier.Retention retention() throws Exception {
        return ChainVerifier.Retention.UNKNOWN;
    }

    @Override
    default void close() {
    }
}
