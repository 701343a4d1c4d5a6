package io.inferencepam.pam.record.query;

import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.ReadOnlySink;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Read-only view of JSON-lines audit files (a file sink directory, rotated files, an export,
 * archive segments, {@code export --follow} output), for pamctl. A directory means its archive
 * segments in stream order when it holds any, else its rotated files in order, then the active one.
 * Gzip files ({@code .gz}) are read decompressed; lines that carry a stream id are read at it.
 */
public final class JsonLinesFiles implements ReadOnlySink {
    private final List<Path> files;

    public JsonLinesFiles(List<Path> paths) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (ArchiveDirectory.isArchive(p)) {
                for (ArchiveDirectory.Segment seg : new ArchiveDirectory(p).segments()) {
                    out.add(seg.path());
                }
            } else if (Files.isDirectory(p)) {
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
    public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) throws IOException {
        ArchiveDirectory.scan(files, visitor);
    }

    /**
     * When the files were cut from the stream (archive segments, {@code export --follow} output):
     * the time of the newest stream id in them. Verify judges the tail "as of" then, since the
     * checkpoint covering the last entries of a segment is in the next one, or still in the stream.
     */
    public Optional<Instant> cutAt() throws IOException {
        long[] newest = {-1};
        scan(0, e -> {
            StreamId id = StreamId.parseOrNull(e.position());
            if (id != null) {
                newest[0] = Math.max(newest[0], id.millis());
            }
            return true;
        });
        return newest[0] < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(newest[0]));
    }
}
