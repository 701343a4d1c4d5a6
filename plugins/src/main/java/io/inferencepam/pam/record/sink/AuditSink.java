package io.inferencepam.pam.record.sink;

import io.inferencepam.pam.record.chain.StoredEntry;
import java.util.List;
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

    @Override
    default void close() {
    }
}
