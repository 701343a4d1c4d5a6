package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.archived;
import static io.inferencepam.record.ArchiveSupport.calls;
import static io.inferencepam.record.ArchiveSupport.positions;
import static io.inferencepam.record.ArchiveSupport.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveManifest;
import io.inferencepam.pam.record.archive.ArchiveMismatchException;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.chain.CanonicalJson;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;

/**
 * The archiver trims the stream only as far as a verified manifest and verified segment files
 * prove archived (review of issue 14): whoever can write only the archive directory cannot make
 * it delete unarchived audit records, by a forged manifest line or by a planted segment file. A
 * genuine crash between a segment's rename and its manifest line is still recovered. Real runner,
 * real Redis, the real archiver.
 */
class PamRecordArchiveTrimProofE2ETest {
    private static final StreamId FAR = StreamId.parse("9999999999999-0");

    private static StreamArchiver archiver(AuditFixture fx, JedisPooled jedis, Path dir, String owner) throws Exception {
        return ArchiveSupport.archiver(jedis, AuditFixture.STREAM, dir, settings(dir, 1 << 20, Duration.ofSeconds(30)), fx.keys[0],
                owner);
    }

    /** 3 calls archived, 5 more recorded and not archived; returns the archive directory. */
    private static Path archiveThreeAddFive(AuditFixture fx, JedisPooled jedis) throws Exception {
        calls(fx, 0, 3);
        Path dir = Files.createTempDirectory("pam-archive");
        StreamArchiver a = archiver(fx, jedis, dir, "a");
        assertThat(a.runOnce(true).segments()).isPositive();
        a.close();
        calls(fx, 3, 5);
        fx.runner.stop();
        return dir;
    }

    private static void assertUntouched(AuditFixture fx, long xlen, String cursor) {
        assertThat(fx.jedis.xlen(AuditFixture.STREAM)).isEqualTo(xlen);
        assertThat(fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM))).isEqualTo(cursor);
    }

    @Test
    void aForgedUnsignedManifestLineIsRefusedAndTrimsNothing() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true);
             JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            Path dir = archiveThreeAddFive(fx, jedis);
            long xlen = fx.jedis.xlen(AuditFixture.STREAM);
            String cursor = fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM));
            Files.writeString(dir.resolve("MANIFEST.jsonl"), "{\"kind\":\"segment\",\"stream\":\"" + AuditFixture.STREAM
                    + "\",\"last\":\"" + FAR + "\"}\n", StandardOpenOption.APPEND);

            StreamArchiver next = archiver(fx, jedis, dir, "b");
            assertThatThrownBy(() -> next.runOnce(false)).isInstanceOf(ArchiveMismatchException.class);
            next.close();

            assertUntouched(fx, xlen, cursor);
        }
    }

    @Test
    void aForgedLineChainedCorrectlyButNotSignedByTheArchiverIsRefused() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true);
             JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            Path dir = archiveThreeAddFive(fx, jedis);
            long xlen = fx.jedis.xlen(AuditFixture.STREAM);
            String cursor = fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM));
            Path manifest = dir.resolve("MANIFEST.jsonl");
            List<String> lines = Files.readAllLines(manifest);
            ObjectNode last = (ObjectNode) CanonicalJson.parse(lines.get(lines.size() - 1));
            // the genuine last line again, one further in the chain, claiming the entries not archived yet
            ObjectNode forged = last.deepCopy();
            forged.remove(List.of("hash", "sig", "key_id"));
            forged.put("n", last.path("n").asLong() + 1);
            forged.put("prev", last.path("hash").asText());
            forged.put("after", cursor);
            forged.put("last", FAR.toString());
            forged.put("hash", ArchiveManifest.bodyHash(forged));
            Files.writeString(manifest, CanonicalJson.write(forged) + "\n", StandardOpenOption.APPEND);

            StreamArchiver next = archiver(fx, jedis, dir, "b");
            assertThatThrownBy(() -> next.runOnce(false)).isInstanceOf(ArchiveMismatchException.class)
                    .hasMessageContaining("proven archived");
            next.close();

            assertUntouched(fx, xlen, cursor);
        }
    }

    @Test
    void aPlantedSegmentFilePastTheEndIsRefusedAndTrimsNothing() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true);
             JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            Path dir = archiveThreeAddFive(fx, jedis);
            long xlen = fx.jedis.xlen(AuditFixture.STREAM);
            String cursor = fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM));
            StreamId end = StreamId.parse(cursor);
            Path planted = dir.resolve("audit-" + end.millis() + "-" + (end.seq() + 1) + "_" + FAR + ".jsonl.gz");
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(planted))) {
                out.flush();
            }
            String manifest = Files.readString(dir.resolve("MANIFEST.jsonl"));

            StreamArchiver next = archiver(fx, jedis, dir, "b");
            assertThatThrownBy(() -> next.runOnce(false)).isInstanceOf(ArchiveMismatchException.class);
            next.close();

            assertUntouched(fx, xlen, cursor);
            assertThat(Files.readString(dir.resolve("MANIFEST.jsonl"))).isEqualTo(manifest); // not signed into it
        }
    }

    @Test
    void aCrashBetweenRenameAndManifestLineIsStillRecovered() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true);
             JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            Path dir = archiveThreeAddFive(fx, jedis);
            List<String> stored = positions(fx.entries());
            StreamArchiver crashed = archiver(fx, jedis, dir, "crashed");
            assertThat(crashed.lease().acquire()).isTrue();
            StreamId cursor = crashed.cursor().orElseThrow();
            ArchiveDirectory.Segment seg = crashed.copyNext(cursor, true).orElseThrow();
            crashed.lease().release();
            // the process died after the rename, before its manifest line was forced to disk
            List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("MANIFEST.jsonl")));
            Files.write(dir.resolve("MANIFEST.jsonl"), lines.subList(0, lines.size() - 1));

            StreamArchiver restarted = archiver(fx, jedis, dir, "restarted");
            assertThat(restarted.runOnce(false).holder()).isTrue();
            restarted.close();

            assertThat(fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM))).isEqualTo(seg.last().toString());
            List<String> archivedIds = positions(archived(dir));
            assertThat(new java.util.HashSet<>(archivedIds)).hasSameSizeAs(archivedIds); // nothing archived twice
            assertThat(archivedIds).containsAll(stored).endsWith(stored.get(stored.size() - 1));
            assertThat(Files.readString(dir.resolve("MANIFEST.jsonl"))).contains(seg.name());
            ArchiveSupport.Run v = ArchiveSupport.pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1],
                    "--redis", fx.redis.url());
            assertThat(v.exit()).as(v.out() + v.err()).isZero();
        }
    }
}
