package io.inferencepam.pam.record.archive;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.ChainVerifier.Finding;
import io.inferencepam.pam.record.chain.ChainVerifier.Kind;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole-archive checks on manifests written by {@link ArchiveManifest}, without Redis (the e2e test has the archiver). */
class ManifestCheckTest {
    private static final String STREAM = "pam:{audit}:records";
    @TempDir
    Path dir;
    private final String[] keys = CheckpointSigner.generate();
    private final CheckpointSigner signer = CheckpointSigner.fromPkcs8Base64(keys[0]);
    private final PublicKey pub = CheckpointSigner.publicKeyFromBase64(keys[1]);

    /** Three segments (ids 10..60), each listed. */
    private List<ArchiveDirectory.Segment> archive(Optional<CheckpointSigner> s) throws Exception {
        return archive(dir, s, StreamId.ZERO, 10, 30, 50);
    }

    /** Segments of two entries each ({@code base}, {@code base + 10}) in {@code into}, after {@code after}. */
    private static List<ArchiveDirectory.Segment> archive(Path into, Optional<CheckpointSigner> s, StreamId after, long... bases)
            throws Exception {
        ArchiveDirectory d = new ArchiveDirectory(into);
        ArchiveManifest m = ArchiveManifest.forAppend(into, Optional.empty(), s, Clock.systemUTC());
        m.open(STREAM);
        List<ArchiveDirectory.Segment> out = new ArrayList<>();
        for (long base : bases) {
            try (ArchiveDirectory.SegmentWriter w = d.newSegment()) {
                for (long i = base; i < base + 20; i += 10) {
                    w.append(i + "-0", "{\"hash\":\"h" + i + "\",\"instance\":\"vm-1\",\"seq\":" + i + "}");
                }
                ArchiveDirectory.Written written = w.commit().orElseThrow();
                m.segment(STREAM, "segment", written.segment().path(), after, written.summary());
                after = written.segment().last();
                out.add(written.segment());
            }
        }
        return out;
    }

    private ManifestCheck.Result check(Optional<StreamId> cursor) throws Exception {
        return ManifestCheck.check(dir, List.of(pub), cursor, Optional.empty());
    }

    private static List<Kind> kinds(ManifestCheck.Result r) {
        return r.findings().stream().map(Finding::kind).toList();
    }

    @Test
    void anIntactSignedArchiveIsCleanAndVerified() throws Exception {
        archive(Optional.of(signer));
        ManifestCheck.Result r = check(Optional.of(new StreamId(60, 0)));
        assertThat(r.findings()).isEmpty();
        assertThat(r.signed()).isTrue();
        assertThat(r.listed()).isEqualTo(3);
        assertThat(r.lastArchived()).contains(new StreamId(60, 0));
        String line = Files.readAllLines(ArchiveManifest.fileIn(dir)).get(3);
        assertThat(line).contains("\"instances\":[{\"first_seq\":50,\"instance\":\"vm-1\",\"last_hash\":\"h60\",\"last_seq\":60}]");
    }

    @Test
    void anUnsignedManifestIsCleanButNotVerifiedWithoutAKey() throws Exception {
        archive(Optional.empty());
        ManifestCheck.Result r = ManifestCheck.check(dir, List.of(), Optional.empty(), Optional.empty());
        assertThat(r.findings()).isEmpty();
        assertThat(r.signed()).isFalse();
    }

    @Test
    void givenAKeyAnUnsignedLineIsABadSignature() throws Exception {
        archive(Optional.of(signer));
        // a forged line appended after the genuine ones, chained and hashed correctly but without a signature
        ArchiveManifest.forAppend(dir, ArchiveManifest.read(dir), Optional.empty(), Clock.systemUTC()).retired(STREAM,
                new ArchiveDirectory(dir).segments().get(0));
        ManifestCheck.Result r = check(Optional.empty());
        assertThat(kinds(r)).containsExactly(Kind.BAD_SIGNATURE);
        assertThat(r.findings().get(0).toString()).contains("line 5").contains("not signed");
        assertThat(r.signed()).isFalse();
    }

    @Test
    void givenAKeyALineSignedByNoGivenKeyAndNamingNoneIsABadSignature() throws Exception {
        archive(Optional.of(CheckpointSigner.fromPkcs8Base64(CheckpointSigner.generate()[0]))); // no key_id in the lines
        ManifestCheck.Result r = check(Optional.empty());
        assertThat(kinds(r)).containsOnly(Kind.BAD_SIGNATURE).hasSize(4);
    }

    @Test
    void severalDirectoriesAreComparedWithTheCursorTogether() throws Exception {
        Path later = Files.createTempDirectory(dir.getParent(), "later");
        archive(Optional.of(signer));
        archive(later, Optional.of(signer), new StreamId(60, 0), 70, 90);
        List<ManifestCheck.Result> both = ManifestCheck.checkAll(List.of(dir, later), List.of(pub), Optional.of(new StreamId(100, 0)),
                Optional.of(STREAM));
        assertThat(both).allSatisfy(r -> assertThat(r.findings()).isEmpty());
        // the newest directory's tail cut: still seen
        List<ManifestCheck.Result> cut = ManifestCheck.checkAll(List.of(dir, later), List.of(pub), Optional.of(new StreamId(120, 0)),
                Optional.of(STREAM));
        assertThat(cut.get(0).findings()).isEmpty();
        assertThat(kinds(cut.get(1))).containsExactly(Kind.ARCHIVE_TAIL_MISSING);
    }

    @Test
    void theDeletedLastSegmentIsNamed() throws Exception {
        List<ArchiveDirectory.Segment> segs = archive(Optional.of(signer));
        Files.delete(segs.get(2).path());
        ManifestCheck.Result r = check(Optional.empty());
        assertThat(kinds(r)).containsExactly(Kind.SEGMENT_MISSING);
        assertThat(r.findings().get(0).toString()).startsWith("SEGMENT_MISSING " + segs.get(2).name() + ":");
    }

    @Test
    void aCutManifestTailIsSeenOnlyAgainstTheCursor() throws Exception {
        List<ArchiveDirectory.Segment> segs = archive(Optional.of(signer));
        Files.delete(segs.get(2).path());
        List<String> lines = new ArrayList<>(Files.readAllLines(ArchiveManifest.fileIn(dir)));
        lines.remove(lines.size() - 1);
        Files.write(ArchiveManifest.fileIn(dir), lines);
        assertThat(check(Optional.empty()).findings()).isEmpty(); // offline: a valid, shorter manifest
        ManifestCheck.Result r = check(Optional.of(new StreamId(60, 0)));
        assertThat(kinds(r)).containsExactly(Kind.ARCHIVE_TAIL_MISSING);
        assertThat(r.findings().get(0).detail()).contains("60-0").contains("40-0");
    }

    @Test
    void aRemovedOrEditedManifestLineBreaksTheManifest() throws Exception {
        archive(Optional.of(signer));
        List<String> lines = new ArrayList<>(Files.readAllLines(ArchiveManifest.fileIn(dir)));
        lines.remove(2); // the middle segment's line
        Files.write(ArchiveManifest.fileIn(dir), lines);
        assertThat(kinds(check(Optional.empty()))).contains(Kind.MANIFEST_BROKEN, Kind.SEGMENT_UNLISTED);

        lines.set(1, lines.get(1).replace("\"entries\":2", "\"entries\":1"));
        Files.write(ArchiveManifest.fileIn(dir), lines);
        assertThat(check(Optional.empty()).findings()).anySatisfy(f -> assertThat(f.detail()).contains("edited"));
    }

    @Test
    void aManifestSignedWithAnotherKeyIsABadSignature() throws Exception {
        archive(Optional.of(signer.withPublicKey(pub)));
        PublicKey other = CheckpointSigner.publicKeyFromBase64(CheckpointSigner.generate()[1]);
        // the lines name pub's key id: given only another key, they are not verified
        assertThat(ManifestCheck.check(dir, List.of(other), Optional.empty(), Optional.empty()).signed()).isFalse();
        // a forged line naming pub's id, re-hashed but signed with another key
        String forger = CheckpointSigner.generate()[0];
        List<String> lines = new ArrayList<>(Files.readAllLines(ArchiveManifest.fileIn(dir)));
        com.fasterxml.jackson.databind.node.ObjectNode last = (com.fasterxml.jackson.databind.node.ObjectNode)
                io.inferencepam.pam.record.chain.CanonicalJson.parse(lines.get(3));
        last.put("sig", CheckpointSigner.fromPkcs8Base64(forger).sign(last.path("hash").asText()));
        lines.set(3, io.inferencepam.pam.record.chain.CanonicalJson.write(last));
        Files.write(ArchiveManifest.fileIn(dir), lines);
        assertThat(kinds(check(Optional.empty()))).containsExactly(Kind.BAD_SIGNATURE);
    }

    @Test
    void aTornLastLineIsANoteAndTheArchiverRepairsIt() throws Exception {
        archive(Optional.of(signer));
        Files.writeString(ArchiveManifest.fileIn(dir), "{\"v\":1,\"n\":5,\"ki", java.nio.file.StandardOpenOption.APPEND);
        ManifestCheck.Result r = check(Optional.empty());
        assertThat(r.findings()).isEmpty();
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).contains("cut line"));
        ArchiveManifest.forAppend(dir, ArchiveManifest.read(dir), Optional.of(signer), Clock.systemUTC());
        assertThat(ArchiveManifest.read(dir).orElseThrow().tornTail()).isFalse();
        assertThat(ArchiveManifest.read(dir).orElseThrow().lines()).hasSize(4);
    }

    @Test
    void aDirectoryWithoutManifestIsNotVerified() throws Exception {
        new ArchiveDirectory(dir);
        ManifestCheck.Result r = check(Optional.empty());
        assertThat(r.present()).isFalse();
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).contains("adopts"));
    }

    @Test
    void hashTags() {
        assertThat(StreamArchiver.hashTagged("pam:{audit}:records")).isTrue();
        assertThat(StreamArchiver.hashTagged("pam:audit:records")).isFalse();
        assertThat(StreamArchiver.hashTagged("pam:{}:records")).isFalse();   // empty tag: the whole key is hashed
        assertThat(StreamArchiver.hashTagged("pam:}{x}")).isTrue();           // the first '{' and the next '}'
        assertThat(StreamArchiver.hashTagged("pam:{audit:records")).isFalse();
    }
}
