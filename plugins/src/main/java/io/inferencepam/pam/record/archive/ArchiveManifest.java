package io.inferencepam.pam.record.archive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code MANIFEST.jsonl}: the archiver's own account of an archive directory, one canonical JSON
 * line per event, each line hash-chained to the one before ({@code prev}) and signed with the
 * archiver's checkpoint key ({@code sig}, {@code key_id}). Kinds: {@code open} (the directory was
 * taken for a stream; names the stream key), {@code segment} (a segment was made durable: its
 * name, stream ids, entry count, SHA-256 of its bytes, per-instance seq range and head hash),
 * {@code adopted} (a segment written before manifests existed, hashed when first seen) and
 * {@code retired} (a segment deleted by the retention setting). A line is appended and forced to
 * disk after its segment is in place and before the stream is trimmed, so every trimmed entry is
 * in a listed segment. {@link ManifestCheck} reads it back.
 */
public final class ArchiveManifest {
    public static final String FILE = "MANIFEST.jsonl";
    static final int VERSION = 1;

    /** One parsed line; {@code node} is the whole line, {@code raw} its text. */
    public record Line(long n, String kind, JsonNode node, String raw) {
        public String stream() {
            return node.path("stream").asText("");
        }

        public String segment() {
            return node.path("segment").asText("");
        }

        public StreamId first() {
            return StreamId.parse(node.path("first").asText());
        }

        public StreamId last() {
            return StreamId.parse(node.path("last").asText());
        }

        /** The entry the listed segment resumes after (a segment or adopted line). */
        public StreamId after() {
            return StreamId.parse(node.path("after").asText());
        }

        public String sha256() {
            return node.path("sha256").asText("");
        }

        public String hash() {
            return node.path(HashChain.HASH).asText("");
        }

        /** A segment this line puts into the archive (written or adopted). */
        public boolean adds() {
            return "segment".equals(kind) || "adopted".equals(kind);
        }
    }

    /**
     * What the file holds: its lines in order, and whether its last line was cut mid-write (no
     * newline at the end: a crash while appending).
     */
    public record Contents(List<Line> lines, boolean tornTail, long goodBytes) {
        public Optional<Line> lastAdding() {
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).adds()) {
                    return Optional.of(lines.get(i));
                }
            }
            return Optional.empty();
        }

        public Optional<String> stream() {
            return lines.isEmpty() ? Optional.empty() : Optional.of(lines.get(0).stream());
        }
    }

    private final Path file;
    private final Optional<CheckpointSigner> signer;
    private final Clock clock;
    private long n;
    private String prev;

    private ArchiveManifest(Path file, Optional<CheckpointSigner> signer, Clock clock, long n, String prev) {
        this.file = file;
        this.signer = signer;
        this.clock = clock;
        this.n = n;
        this.prev = prev;
    }

    public static Path fileIn(Path dir) {
        return dir.resolve(FILE);
    }

    /**
     * Reads the manifest of {@code dir}; empty when there is none. A line that does not parse is
     * kept as a line of kind {@code "?"} (the verifier reports it), except a cut last line.
     */
    public static Optional<Contents> read(Path dir) throws IOException {
        Path f = fileIn(dir);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        byte[] bytes = Files.readAllBytes(f);
        String text = new String(bytes, StandardCharsets.UTF_8);
        boolean torn = !text.isEmpty() && !text.endsWith("\n");
        long good = torn ? text.substring(0, text.lastIndexOf('\n') + 1).getBytes(StandardCharsets.UTF_8).length : bytes.length;
        String[] parts = text.split("\n");
        List<Line> lines = new ArrayList<>();
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty() || (torn && i == parts.length - 1)) {
                continue;
            }
            JsonNode node;
            try {
                node = CanonicalJson.parse(parts[i]);
            } catch (IOException e) {
                node = CanonicalJson.MAPPER.createObjectNode();
            }
            lines.add(new Line(node.path("n").asLong(-1), node.path("kind").asText("?"), node, parts[i]));
        }
        return Optional.of(new Contents(List.copyOf(lines), torn, good));
    }

    /**
     * The manifest for appending, after {@code contents} (empty: a new manifest). A cut last line
     * is removed first: its segment, if any, is listed again by the caller's recovery.
     */
    static ArchiveManifest forAppend(Path dir, Optional<Contents> contents, Optional<CheckpointSigner> signer, Clock clock)
            throws IOException {
        if (contents.isPresent() && contents.get().tornTail()) {
            try (FileChannel ch = FileChannel.open(fileIn(dir), StandardOpenOption.WRITE)) {
                ch.truncate(contents.get().goodBytes());
                ch.force(true);
            }
        }
        List<Line> lines = contents.map(Contents::lines).orElse(List.of());
        Line last = lines.isEmpty() ? null : lines.get(lines.size() - 1);
        return new ArchiveManifest(fileIn(dir), signer, clock, last == null ? 0 : last.n(),
                last == null ? HashChain.GENESIS : last.hash());
    }

    /** The body hash of a line: SHA-256 of the canonical line without {@code hash}, {@code sig}, {@code key_id}. */
    public static String bodyHash(JsonNode line) {
        ObjectNode body = line.deepCopy();
        body.remove(HashChain.HASH);
        body.remove(HashChain.SIG);
        body.remove("key_id");
        return HashChain.sha256Hex(CanonicalJson.write(body));
    }

    /**
     * Why line {@code i} (0-based) of a manifest breaks its hash chain, {@code prev} being the hash
     * of the line before; empty when its content matches its hash and it follows that line.
     */
    public static Optional<String> chainFault(Line l, int i, String prev) {
        if (!bodyHash(l.node()).equals(l.hash())) {
            return Optional.of("the line's content does not match its hash (edited)");
        }
        if (l.n() != i + 1 || !prev.equals(l.node().path(HashChain.PREV).asText())) {
            return Optional.of("does not follow line " + i + " (a manifest line was removed, inserted or moved)");
        }
        return Optional.empty();
    }

    void open(String stream) throws IOException {
        ObjectNode o = base("open", stream);
        append(o);
    }

    void segment(String stream, String kind, Path segment, StreamId after, SegmentSummary s) throws IOException {
        ObjectNode o = base(kind, stream);
        o.put("segment", segment.getFileName().toString());
        o.put("after", after.toString());
        o.put("first", s.first().toString());
        o.put("last", s.last().toString());
        o.put("entries", s.entries());
        o.put("sha256", s.sha256());
        ArrayNode is = o.putArray("instances");
        for (SegmentSummary.InstanceRange r : s.instances()) {
            ObjectNode x = is.addObject();
            x.put("instance", r.instance());
            x.put("first_seq", r.firstSeq());
            x.put("last_seq", r.lastSeq());
            x.put("last_hash", r.lastHash());
        }
        append(o);
    }

    void retired(String stream, ArchiveDirectory.Segment segment) throws IOException {
        ObjectNode o = base("retired", stream);
        o.put("segment", segment.path().getFileName().toString());
        o.put("first", segment.first().toString());
        o.put("last", segment.last().toString());
        append(o);
    }

    private ObjectNode base(String kind, String stream) {
        ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
        o.put("v", VERSION);
        o.put("n", n + 1);
        o.put("kind", kind);
        o.put("stream", stream);
        o.put("at", clock.instant().toString());
        o.put(HashChain.PREV, prev);
        return o;
    }

    private void append(ObjectNode body) throws IOException {
        String hash = HashChain.sha256Hex(CanonicalJson.write(body));
        body.put(HashChain.HASH, hash);
        if (signer.isPresent()) {
            body.put(HashChain.SIG, signer.get().sign(hash));
            signer.get().keyId().ifPresent(k -> body.put("key_id", k));
        }
        boolean created = !Files.exists(file);
        byte[] line = (CanonicalJson.write(body) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        if (created) {
            try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        }
        n++;
        prev = hash;
    }
}
