package io.inferencepam.pam.record.sink;

import java.util.List;

/**
 * An audit store opened only to be read (pamctl's files, archive and stream together): it has no
 * writer, so a write or the writer's sequence question is a programming error, refused loudly.
 */
public interface ReadOnlySink extends AuditSink {

    @Override
    default void write(List<ChainedEntry> batch) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    default long highestSeq(String instance) {
        throw new UnsupportedOperationException("read-only");
    }
}
