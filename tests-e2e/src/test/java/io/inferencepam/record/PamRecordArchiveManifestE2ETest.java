package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.calls;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static io.inferencepam.record.ArchiveSupport.positions;
import static io.inferencepam.record.ArchiveSupport.settings;
import static io.inferencepam.record.PamRecordArchiveE2ETest.gunzip;
import static io.inferencepam.record.PamRecordArchiveE2ETest.gzip;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.resps.StreamEntry;

/**
 * An archive is tamper-evident as a whole (issue 14 §3, review gap): the archiver's manifest lists
 * every segment, so verify names a deleted last segment, a truncated, swapped or replaced segment,
 * and, with the Redis cursor at hand, a manifest whose tail was cut with the segments it listed. A
 * directory holding another stream's archive is refused before anything is trimmed. Real runner,
 * real Redis, the real archiver and pamctl.
 */
class PamRecordArchiveManifestE2ETest {

    /** 80 recorded calls archived by the real archiver into several small segments. */
    private static Path archive(AuditFixture fx) throws Exception {
        calls(fx, 0, 80);
        fx.runner.stop(); // final checkpoint; nothing is written after this
        Path dir = Files.createTempDirectory("pam-archive");
        try (JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            StreamArchiver a = ArchiveSupport.archiver(jedis, AuditFixture.STREAM, dir, settings(dir, 24 << 10, Duration.ofSeconds(30)),
                    fx.keys[0], "a");
            assertThat(a.runOnce(true).segments()).isGreaterThan(2);
            a.close();
        }
        return dir;
    }

    private static List<ArchiveDirectory.Segment> segments(Path dir) throws Exception {
        return new ArchiveDirectory(dir).segments();
    }

    private static ArchiveSupport.Run verify(AuditFixture fx, Path dir, String... more) {
        List<String> args = new ArrayList<>(List.of("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]));
        args.addAll(List.of(more));
        return pamctl(args.toArray(String[]::new));
    }

    @Test
    void anIntactArchiveVerifiesWithItsManifest() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            ArchiveSupport.Run v = verify(fx, dir);
            assertThat(v.exit()).as(v.out() + v.err()).isZero();
            assertThat(v.out()).contains("archive: " + segments(dir).size() + " segment(s) listed");
            ArchiveSupport.Run withRedis = verify(fx, dir, "--redis", fx.redis.url());
            assertThat(withRedis.exit()).as(withRedis.out() + withRedis.err()).isZero();
        }
    }

    @Test
    void aDeletedLastSegmentIsNamed() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            List<ArchiveDirectory.Segment> segs = segments(dir);
            Path last = segs.get(segs.size() - 1).path();
            Files.delete(last);

            ArchiveSupport.Run v = verify(fx, dir);

            assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
            assertThat(v.out()).contains("SEGMENT_MISSING").contains(last.getFileName().toString()).contains("TAMPERED");
        }
    }

    @Test
    void aTruncatedSegmentIsNamed() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            List<ArchiveDirectory.Segment> segs = segments(dir);
            Path last = segs.get(segs.size() - 1).path();
            // cut at a line boundary and compressed again: a readable segment, just shorter
            List<String> lines = List.of(gunzip(last).split("\n"));
            gzip(last, String.join("\n", lines.subList(0, lines.size() / 2)) + "\n");

            ArchiveSupport.Run v = verify(fx, dir);

            assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
            assertThat(v.out()).contains("SEGMENT_MODIFIED").contains(last.getFileName().toString());
        }
    }

    @Test
    void swappedSegmentsAreNamed() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            List<ArchiveDirectory.Segment> segs = segments(dir);
            Path a = segs.get(0).path();
            Path b = segs.get(1).path();
            Path tmp = dir.resolve("swap");
            Files.move(a, tmp);
            Files.move(b, a);
            Files.move(tmp, b);

            ArchiveSupport.Run v = verify(fx, dir);

            assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
            assertThat(v.out()).contains("SEGMENT_MODIFIED").contains(a.getFileName().toString())
                    .contains(b.getFileName().toString());
        }
    }

    @Test
    void aManifestTailCutWithItsSegmentsIsSeenAgainstTheRedisCursor() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            List<ArchiveDirectory.Segment> segs = segments(dir);
            ArchiveDirectory.Segment last = segs.get(segs.size() - 1);
            Files.delete(last.path());
            Path manifest = dir.resolve("MANIFEST.jsonl");
            if (Files.exists(manifest)) { // on main there is none: the segment alone goes
                List<String> lines = new ArrayList<>(Files.readAllLines(manifest));
                lines.remove(lines.size() - 1);
                Files.write(manifest, lines);
            }

            ArchiveSupport.Run v = verify(fx, dir, "--redis", fx.redis.url());

            assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
            assertThat(v.out()).contains("ARCHIVE_TAIL_MISSING").contains(last.last().toString());
        }
    }

    @Test
    void aDirectoryHoldingAnotherStreamsArchiveIsRefusedAndNothingIsTrimmed() throws Exception {
        String other = "pam:{audit-b}:records";
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 30);
            fx.runner.stop();
            // a second stream whose entries were never archived, with ids before the first stream's last archived one
            for (StreamEntry e : fx.jedis.xrange(AuditFixture.STREAM, "-", "+")) {
                fx.jedis.xadd(other, e.getID(), e.getFields());
            }
            long before = fx.jedis.xlen(other);
            Path dir = Files.createTempDirectory("pam-archive");
            assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", dir.toString(), "--redis", fx.redis.url()).exit())
                    .isZero();

            // PAM_AUDIT_STREAM changed, the directory stayed
            ArchiveSupport.Run r = pamctl("audit", "archive", "--once", "--dir", dir.toString(), "--redis", fx.redis.url(),
                    "--stream", other);

            assertThat(r.exit()).as(r.out() + r.err()).isNotZero();
            assertThat(r.err()).contains(AuditFixture.STREAM).contains(other);
            assertThat(fx.jedis.xlen(other)).isEqualTo(before);
            assertThat(fx.jedis.get(StreamArchiver.cursorKey(other))).isNull();
            List<StoredEntry> archived = ArchiveSupport.archived(dir);
            assertThat(positions(archived)).isNotEmpty();
        }
    }

    @Test
    void archiveAndLiveStreamVerifyInOneRun() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 40);
            Path dir = Files.createTempDirectory("pam-archive");
            try (JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
                StreamArchiver a = ArchiveSupport.archiver(jedis, AuditFixture.STREAM, dir, settings(dir, 24 << 10, Duration.ofSeconds(30)),
                        fx.keys[0], "a");
                assertThat(a.runOnce(true).segments()).isGreaterThan(2);
                a.close();
            }
            calls(fx, 40, 20); // the runner goes on: these stay in the stream
            fx.runner.stop();
            int archivedEntries = ArchiveSupport.archived(dir).size();
            int liveAfter = fx.entries().size() - 1; // the stream's head is the last archived entry
            assertThat(liveAfter).isPositive();

            ArchiveSupport.Run v = verify(fx, dir, "--redis", fx.redis.url());

            assertThat(v.exit()).as(v.out() + v.err()).isZero();
            assertThat(v.out()).contains("OK: " + (archivedEntries + liveAfter) + " entries");

            // the archive's last two segments deleted with their manifest lines (the last alone may hold just the entry the
            // stream keeps at its head): the chains that go on in the stream show the hole
            List<ArchiveDirectory.Segment> segs = segments(dir);
            Files.delete(segs.get(segs.size() - 1).path());
            Files.delete(segs.get(segs.size() - 2).path());
            List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("MANIFEST.jsonl")));
            Files.write(dir.resolve("MANIFEST.jsonl"), lines.subList(0, lines.size() - 2));
            ArchiveSupport.Run cut = verify(fx, dir, "--redis", fx.redis.url());
            assertThat(cut.exit()).isEqualTo(1);
            assertThat(cut.out()).contains("ARCHIVE_TAIL_MISSING").contains("DELETED");
        }
    }

    @Test
    void anArchiveFromBeforeManifestsIsAdoptedOnlyWhenTheCursorCoversIt() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path dir = archive(fx);
            Files.delete(dir.resolve("MANIFEST.jsonl")); // as main's archiver left it
            ArchiveSupport.Run legacy = verify(fx, dir);
            assertThat(legacy.exit()).as(legacy.out()).isEqualTo(3); // chains clean, but a deleted last segment would not show
            assertThat(legacy.out()).contains("no MANIFEST.jsonl");

            ArchiveSupport.Run adopt = pamctl("audit", "archive", "--once", "--dir", dir.toString(), "--redis", fx.redis.url(),
                    "--signing-key-file", ArchiveSupport.signingKeyFile(fx));
            assertThat(adopt.exit()).as(adopt.out() + adopt.err()).isZero();
            assertThat(Files.readString(dir.resolve("MANIFEST.jsonl"))).contains("\"kind\":\"adopted\"");
            ArchiveSupport.Run v = verify(fx, dir, "--redis", fx.redis.url());
            assertThat(v.exit()).as(v.out() + v.err()).isZero();

            // the same segments, but this stream never archived that far: refused, nothing trimmed
            Path other = Files.createTempDirectory("pam-archive");
            for (ArchiveDirectory.Segment s : segments(dir)) {
                Files.copy(s.path(), other.resolve(s.name()));
            }
            String stream = "pam:{audit-c}:records";
            fx.jedis.xadd(stream, redis.clients.jedis.StreamEntryID.NEW_ENTRY, Map.of("r", "{}"));
            ArchiveSupport.Run refused = pamctl("audit", "archive", "--once", "--dir", other.toString(), "--redis", fx.redis.url(),
                    "--stream", stream);
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.err()).contains("without a manifest");
            assertThat(fx.jedis.xlen(stream)).isEqualTo(1);
        }
    }
}
