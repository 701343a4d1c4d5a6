package io.inferencepam.pam.record.archive;

import io.inferencepam.pam.record.chain.ChainVerifier.Finding;
import io.inferencepam.pam.record.chain.ChainVerifier.Kind;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks an archive directory as a whole against its {@link ArchiveManifest}: the manifest's own
 * chain and signatures, every listed segment present with the listed SHA-256 (so a deleted,
 * truncated, replaced or swapped segment is named, the last one included), no segment on disk
 * that the manifest does not list, and, given the stream's archived cursor from Redis, that the
 * manifest reaches it (a manifest whose tail was cut together with its segments). Offline, without
 * the cursor, a cut manifest tail is a valid shorter manifest and cannot be told from one.
 */
public final class ManifestCheck {

    /**
     * @param present       the directory has a manifest
     * @param stream        the stream key the manifest names
     * @param listed        segments the manifest lists and has not retired
     * @param retired       segments the manifest says retention deleted
     * @param lastArchived  the newest entry a listed segment holds
     * @param signed        every line's signature checked with a given key
     */
    public record Result(boolean present, Optional<String> stream, int listed, int retired, Optional<StreamId> lastArchived,
                         List<Finding> findings, List<String> notes, boolean signed) {
    }

    private ManifestCheck() {
    }

    /**
     * @param cursor         the stream's archived cursor ({@code <stream>:archived}), when Redis was asked
     * @param expectedStream the stream the caller means, when it named one
     */
    public static Result check(Path dir, List<PublicKey> keys, Optional<StreamId> cursor, Optional<String> expectedStream)
            throws IOException {
        return checkAll(List.of(dir), keys, cursor, expectedStream).get(0);
    }

    /**
     * Checks several directories of one stream's archive (each with its own manifest: the stream
     * was archived into one, then another). The Redis cursor is compared with the newest entry any
     * of them lists, and what that comparison finds is reported with the directory that lists it:
     * every directory but the newest ends before the cursor on an intact archive.
     */
    public static List<Result> checkAll(List<Path> dirs, List<PublicKey> keys, Optional<StreamId> cursor,
                                        Optional<String> expectedStream) throws IOException {
        List<Result> results = new ArrayList<>();
        for (Path d : dirs) {
            results.add(inspect(d, keys, expectedStream));
        }
        Optional<Result> newest = results.stream().filter(Result::present)
                .max(java.util.Comparator.comparing(r -> r.lastArchived().orElse(StreamId.ZERO)));
        newest.ifPresent(r -> compareWithCursor(r.lastArchived().orElse(StreamId.ZERO), cursor, r.findings(), r.notes()));
        return results;
    }

    private static Result inspect(Path dir, List<PublicKey> keys, Optional<String> expectedStream) throws IOException {
        List<Finding> findings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Optional<ArchiveManifest.Contents> read = ArchiveManifest.read(dir);
        List<ArchiveDirectory.Segment> onDisk = ArchiveDirectory.segmentsIn(dir);
        if (read.isEmpty()) {
            notes.add("archive " + dir + " has no " + ArchiveManifest.FILE + " (written before manifests): a deleted last "
                    + "segment cannot be seen; the next archiver pass over this directory adopts its segments into a manifest");
            return new Result(false, Optional.empty(), 0, 0, Optional.empty(), findings, notes, false);
        }
        ArchiveManifest.Contents c = read.get();
        if (c.tornTail()) {
            notes.add(ArchiveManifest.FILE + " ends in a cut line (an archiver stopped while writing it); the next pass repairs it");
        }
        Map<String, PublicKey> byId = new HashMap<>();
        keys.forEach(k -> byId.put(CheckpointSigner.keyId(k), k));
        boolean signed = !c.lines().isEmpty();
        String prev = HashChain.GENESIS;
        String stream = c.stream().orElse("");
        StreamId lastAdded = StreamId.ZERO;
        Map<String, ArchiveManifest.Line> live = new LinkedHashMap<>();
        Set<String> named = new HashSet<>();
        int retired = 0;
        for (int i = 0; i < c.lines().size(); i++) {
            ArchiveManifest.Line l = c.lines().get(i);
            String where = ArchiveManifest.FILE + " line " + (i + 1);
            ArchiveManifest.chainFault(l, i, prev).ifPresent(f -> findings.add(archive(Kind.MANIFEST_BROKEN, where, f)));
            prev = l.hash();
            signed &= signatureChecked(l, byId, keys, where, findings);
            if (!stream.equals(l.stream())) {
                findings.add(archive(Kind.MANIFEST_BROKEN, where, "names stream " + l.stream() + ", the manifest began with " + stream));
            }
            named.add(l.segment());
            try {
                if (l.adds()) {
                    if (!l.first().after(lastAdded)) {
                        findings.add(archive(Kind.MANIFEST_BROKEN, where, "segment " + l.segment() + " does not follow the one "
                                + "listed before it in stream order"));
                    }
                    lastAdded = l.last();
                    live.put(l.segment(), l);
                } else if ("retired".equals(l.kind())) {
                    live.remove(l.segment());
                    retired++;
                } else if (!"open".equals(l.kind())) {
                    findings.add(archive(Kind.MANIFEST_BROKEN, where, "not a manifest line"));
                }
            } catch (IllegalArgumentException e) {
                findings.add(archive(Kind.MANIFEST_BROKEN, where, "a stream id does not parse"));
            }
        }
        expectedStream.filter(s -> !s.equals(stream)).ifPresent(s -> findings.add(archive(Kind.STREAM_MISMATCH, ArchiveManifest.FILE,
                "the archive is of stream " + stream + ", not of " + s)));
        Map<String, ArchiveDirectory.Segment> files = new HashMap<>();
        onDisk.forEach(s -> files.put(s.name(), s));
        for (ArchiveManifest.Line l : live.values()) {
            ArchiveDirectory.Segment f = files.get(l.segment());
            String range = "entries " + l.node().path("first").asText() + ".." + l.node().path("last").asText() + " ("
                    + l.node().path("entries").asLong() + " entries)";
            if (f == null) {
                findings.add(archive(Kind.SEGMENT_MISSING, l.segment(), "listed in " + ArchiveManifest.FILE + " with " + range
                        + ", not in the directory (deleted or moved)"));
            } else if (!SegmentSummary.sha256Of(f.path()).equals(l.node().path("sha256").asText())) {
                findings.add(archive(Kind.SEGMENT_MODIFIED, l.segment(), "its SHA-256 differs from the one listed for " + range
                        + " (truncated, replaced, or swapped with another segment)"));
            }
        }
        for (ArchiveDirectory.Segment f : onDisk) {
            if (named.contains(f.name())) {
                continue;
            }
            if (f.first().after(lastAdded)) {
                notes.add(f.name() + " is after the manifest's end: written just before an archiver stopped (the next pass "
                        + "lists it) or added since; its entries are checked by the chain only");
            } else {
                findings.add(archive(Kind.SEGMENT_UNLISTED, f.name(), "in the directory inside the listed range but not in "
                        + ArchiveManifest.FILE + " (not written by this archive's archiver)"));
            }
        }
        Optional<StreamId> last = lastAdded.equals(StreamId.ZERO) ? Optional.empty() : Optional.of(lastAdded);
        if (!signed) {
            notes.add(ArchiveManifest.FILE + " lines are not all signed with a key given (--public-key): a rewritten manifest "
                    + "would look the same");
        }
        return new Result(true, Optional.of(stream), live.size(), retired, last, findings, notes, signed);
    }

    /**
     * Whether a line's signature verifies with a given key. Given keys, a line without a signature,
     * or whose signature the key it names (or, naming none, every given key) does not verify, is a
     * BAD_SIGNATURE, as {@code ChainVerifier} treats checkpoints; a line naming a key not given is
     * only not verified.
     */
    private static boolean signatureChecked(ArchiveManifest.Line l, Map<String, PublicKey> byId, List<PublicKey> keys, String where,
                                            List<Finding> findings) {
        if (keys.isEmpty()) {
            return false;
        }
        String sig = l.node().path(HashChain.SIG).asText("");
        if (sig.isEmpty()) {
            findings.add(archive(Kind.BAD_SIGNATURE, where, "not signed (a key was given: every line must verify with it)"));
            return false;
        }
        String keyId = l.node().path("key_id").asText("");
        PublicKey named = byId.get(keyId);
        if (!keyId.isEmpty() && named == null) {
            return false; // signed with a key not given (a former key, as ChainVerifier treats checkpoints): not verified
        }
        for (PublicKey k : named != null ? List.of(named) : keys) {
            if (CheckpointSigner.verify(k, l.hash(), sig)) {
                return true;
            }
        }
        findings.add(archive(Kind.BAD_SIGNATURE, where, named != null
                ? "signature does not verify with key " + CheckpointSigner.keyId(named)
                : "signature verifies with no key given (--public-key)"));
        return false;
    }

    /** The Redis cursor against the newest entry the archive lists ({@code lastAdded}). */
    private static void compareWithCursor(StreamId lastAdded, Optional<StreamId> cursor, List<Finding> findings, List<String> notes) {
        Optional<StreamId> last = lastAdded.equals(StreamId.ZERO) ? Optional.empty() : Optional.of(lastAdded);
        if (cursor.isPresent()) {
            if (cursor.get().after(lastAdded)) {
                findings.add(archive(Kind.ARCHIVE_TAIL_MISSING, ArchiveManifest.FILE, "Redis says the stream was archived (and "
                        + "trimmed) up to " + cursor.get() + "; the manifest lists segments only up to "
                        + last.map(Object::toString).orElse("nothing") + ": the archive's last segment(s) and their manifest "
                        + "lines are gone, or the segments are in another archiver's directory"));
            } else if (lastAdded.after(cursor.get())) {
                notes.add("the manifest lists entries up to " + lastAdded + ", past the Redis cursor " + cursor.get()
                        + ": a segment was made durable and the stream not yet trimmed (the next archiver pass does)");
            }
        } else {
            notes.add("archive checked offline: a cut manifest tail (last segments deleted with their lines) is seen only "
                    + "against the Redis cursor (add --redis) or a later copy of the manifest");
        }
    }

    private static Finding archive(Kind kind, String where, String detail) {
        return new Finding(kind, null, -1, where, detail);
    }
}
