package io.inferencepam.pam.record.query;

import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.ReadOnlySink;
import java.util.function.Predicate;

/**
 * The whole trail in one read, for pamctl ({@code --file DIR --redis URL}): archive segments (or
 * export files), then the live stream's entries after the newest stream id the files hold. The
 * stream keeps the last archived entry at its head; it is read once, from the files. Read-only.
 */
public final class ArchiveAndStream implements ReadOnlySink {
    private final JsonLinesFiles files;
    private final AuditSink stream;

    public ArchiveAndStream(JsonLinesFiles files, AuditSink stream) {
        this.files = files;
        this.stream = stream;
    }

    @Override
    public String kind() {
        return "files+" + stream.kind();
    }

    @Override
    public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) throws Exception {
        StreamId[] newest = {StreamId.ZERO};
        boolean[] more = {true};
        files.scan(fromEpochMillis, e -> {
            StreamId id = StreamId.parseOrNull(e.position());
            if (id != null && id.after(newest[0])) {
                newest[0] = id;
            }
            more[0] = visitor.test(e);
            return more[0];
        });
        if (!more[0]) {
            return;
        }
        stream.scan(fromEpochMillis, e -> {
            StreamId id = StreamId.parseOrNull(e.position());
            return id != null && !id.after(newest[0]) || visitor.test(e);
        });
    }

    @Override
    public void close() {
        stream.close();
    }
}
