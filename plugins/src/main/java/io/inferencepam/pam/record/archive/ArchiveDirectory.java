package io.inferencepam.pam.record.archive;

import io.inferencepam.pam.record.chain.StoredEntry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A directory of archive segments: gzip-compressed {@link StreamLine} files named after the stream
 * ids they hold, {@code audit-<first id>_<last id>.jsonl.gz}. A segment is written to a
 * {@code .tmp} file, forced to disk, renamed into place and the directory forced: a crash leaves
 * either no segment (the temporary file is removed at the next start, the entries are still in the
 * stream) or a whole one. The names alone say what is archived, so an archiver that crashed after
 * the rename and before trimming the stream resumes after the segment's last id: nothing twice.
 */
public final class ArchiveDirectory {
    static final Pattern SEGMENT = Pattern.compile("audit-(\\d+-\\d+)_(\\d+-\\d+)\\.jsonl\\.gz");
    private static final String TEMPORARY_SUFFIX = ".jsonl.gz.tmp";

    /** One archive file and the range of stream ids in it. */
    public record Segment(Path path, StreamId first, StreamId last) {
        public String name() {
            return path.getFileName().toString();
        }
    }

    /** A segment made durable, and what its manifest line says about it. */
    public record Written(Segment segment, SegmentSummary summary) {
    }

    private final Path dir;

    public ArchiveDirectory(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    public Path dir() {
        return dir;
    }

    /** Segments in stream order. */
    public List<Segment> segments() throws IOException {
        return segmentsIn(dir);
    }

    static List<Segment> segmentsIn(Path dir) throws IOException {
        List<Segment> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                Matcher m = SEGMENT.matcher(p.getFileName().toString());
                if (m.matches()) {
                    out.add(new Segment(p, StreamId.parse(m.group(1)), StreamId.parse(m.group(2))));
                }
            });
        }
        out.sort(Comparator.comparing(Segment::first));
        return out;
    }

    /** Whether {@code dir} holds archive segments (what {@code --file DIR} reads). */
    public static boolean isArchive(Path dir) throws IOException {
        return Files.isDirectory(dir) && !segmentsIn(dir).isEmpty();
    }

    /** The id of the newest archived entry, if any. */
    public Optional<StreamId> lastArchived() throws IOException {
        return segments().stream().map(Segment::last).max(Comparator.naturalOrder());
    }

    /** Removes segments a crash left half-written (their entries are still in the stream). */
    public int removeTemporaries() throws IOException {
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.getFileName().toString().endsWith(TEMPORARY_SUFFIX)) {
                    Files.deleteIfExists(p);
                    n++;
                }
            }
        }
        return n;
    }

    /** Something done with a segment before it is deleted (its manifest line). */
    public interface BeforeDelete {
        void accept(Segment segment) throws IOException;
    }

    /**
     * Deletes segments whose newest entry was stored before {@code cutoff}, each after
     * {@code before} ran for it; returns how many.
     */
    public int deleteOlderThan(Instant cutoff, BeforeDelete before) throws IOException {
        int n = 0;
        for (Segment s : segments()) {
            if (s.last().millis() < cutoff.toEpochMilli()) {
                before.accept(s);
                Files.deleteIfExists(s.path());
                n++;
            }
        }
        if (n > 0) {
            forceDirectory();
        }
        return n;
    }

    public SegmentWriter newSegment() throws IOException {
        return new SegmentWriter();
    }

    /** One segment being written: append entries in stream order, then {@link #commit} or {@link #abort}. */
    public final class SegmentWriter implements AutoCloseable {
        private final Path tmp;
        private final FileChannel channel;
        private final GZIPOutputStream gzip;
        private final java.security.MessageDigest sha256 = SegmentSummary.newDigest();
        private final SegmentSummary.Ranges ranges = new SegmentSummary.Ranges();
        private StreamId first;
        private StreamId last;
        private long bytes;
        private long entries;
        private boolean done;

        private SegmentWriter() throws IOException {
            tmp = dir.resolve("audit-" + System.nanoTime() + "-" + ProcessHandle.current().pid() + TEMPORARY_SUFFIX);
            channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            // the digest sees the compressed bytes as they go to the file: the manifest's SHA-256 of the segment
            OutputStream out = new java.security.DigestOutputStream(Channels.newOutputStream(channel), sha256);
            gzip = new GZIPOutputStream(out, 1 << 16);
        }

        public void append(String streamId, String entryJson) throws IOException {
            StreamId id = StreamId.parse(streamId);
            if (last != null && !id.after(last)) {
                throw new IllegalArgumentException("segment entries must follow stream order");
            }
            byte[] line = StreamLine.encodeUtf8(streamId, entryJson);
            gzip.write(line);
            ranges.add(entryJson);
            first = first == null ? id : first;
            last = id;
            bytes += line.length;
            entries++;
        }

        /** Uncompressed bytes appended so far. */
        public long bytes() {
            return bytes;
        }

        public long entries() {
            return entries;
        }

        /** Makes the segment durable under its final name; nothing appended: no segment. */
        public Optional<Written> commit() throws IOException {
            if (entries == 0) {
                abort();
                return Optional.empty();
            }
            gzip.finish();
            gzip.flush();
            channel.force(true);
            channel.close();
            done = true;
            Path target = dir.resolve("audit-" + first + "_" + last + ".jsonl.gz");
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory();
            SegmentSummary summary = new SegmentSummary(first, last, entries,
                    java.util.HexFormat.of().formatHex(sha256.digest()), ranges.ranges());
            return Optional.of(new Written(new Segment(target, first, last), summary));
        }

        public void abort() throws IOException {
            if (!done) {
                done = true;
                try {
                    channel.close();
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }

        @Override
        public void close() throws IOException {
            abort();
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /**
     * Reads segments and JSON-lines files in the given order: {@code .gz} files decompressed,
     * envelope lines at their stream id, plain lines at {@code file:line}.
     */
    public static void scan(List<Path> files, Predicate<StoredEntry> visitor) throws IOException {
        for (Path f : files) {
            try (InputStream raw = Files.newInputStream(f);
                 InputStream in = f.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
                 BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                int n = 0;
                while ((line = r.readLine()) != null) {
                    n++;
                    if (!line.isEmpty() && !visitor.test(StreamLine.decode(line, f.getFileName() + ":" + n))) {
                        return;
                    }
                }
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                throw new IOException(f.getFileName() + " is not a readable gzip file (corrupt, cut or tampered with)", e);
            }
        }
    }
}
