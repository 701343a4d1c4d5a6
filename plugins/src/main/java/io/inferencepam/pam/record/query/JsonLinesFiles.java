package io.inferencepam.pam.record.query;

import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Read-only view of JSON-lines audit files (a file sink directory, rotated files, an export),
 * for pamctl. A directory means its rotated files in order, then the active one.
 */
public final class JsonLinesFiles implements AuditSink {
    private final List<Path> files;

    public JsonLinesFiles(List<Path> paths) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                out.addAll(new JsonLinesFileSink(p, Long.MAX_VALUE, 0).files());
            } else {
                out.add(p);
            }
        }
        this.files = List.copyOf(out);
    }

    @Override
    public String kind() {
        return "files";
    }

    @Override
    public void write(List<ChainedEntry> batch) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public long highestSeq(String instance) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) throws IOException {
        JsonLinesFileSink.scanFiles(files, visitor);
    }
}
