package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.archived;
import static io.inferencepam.record.ArchiveSupport.calls;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static io.inferencepam.record.ArchiveSupport.positions;
import static io.inferencepam.record.ArchiveSupport.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.Protocol;

/**
 * Retention without silent loss (issue 14 §3), on records a real runner wrote to a real Redis:
 * the stream is trimmed only up to what is archived, archives verify offline, a crash or a Redis
 * outage between copy and trim loses and duplicates nothing.
 */
class PamRecordArchiveE2ETest {

    @Test
    void archiveHoldsEveryEntryOnceTrimsOnlyUpToItAndVerifiesOffline() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 60);
            fx.runner.stop(); // final checkpoint; the stream holds everything from here on
            List<String> stored = positions(fx.entries());
            Path dir = Files.createTempDirectory("pam-archive");

            ArchiveSupport.Run r = pamctl("audit", "archive", "--once", "--force", "--dir", dir.toString(), "--redis", fx.redis.url(),
                    "--signing-key-file", ArchiveSupport.signingKeyFile(fx));

            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(positions(archived(dir))).containsExactlyElementsOf(stored);
            // trimmed up to the last archived entry, which the stream keeps at its head
            assertThat(positions(fx.entries())).containsExactly(stored.get(stored.size() - 1));
            assertThat(fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM))).isEqualTo(stored.get(stored.size() - 1));

            ArchiveSupport.Run v = pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]);
            assertThat(v.exit()).as(v.out() + v.err()).isZero();
            assertThat(v.out()).contains("OK: " + stored.size() + " entries");
            // the stream, trimmed by the archiver, still verifies: its missing head is the archive's
            ArchiveSupport.Run live = pamctl("audit", "verify", "--redis", fx.redis.url(), "--public-key", fx.keys[1]);
            assertThat(live.out()).doesNotContain("DELETED").doesNotContain("TAMPERED");
        }
    }

    @Test
    void smallSegmentsEachVerifyAloneAndTogether() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 80);
            fx.runner.stop();
            List<String> stored = positions(fx.entries());
            Path dir = Files.createTempDirectory("pam-archive");
            try (JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
                StreamArchiver a = ArchiveSupport.archiver(jedis, AuditFixture.STREAM, dir,
                    settings(dir, 24 << 10, Duration.ofSeconds(30)), fx.keys[0], "a");
                assertThat(a.runOnce(true).segments()).isGreaterThan(2);
                a.close();
            }
            assertThat(positions(archived(dir))).containsExactlyElementsOf(stored);
            assertThat(pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]).exit()).isZero();
            for (ArchiveDirectory.Segment s : new ArchiveDirectory(dir).segments()) {
                ArchiveSupport.Run v = pamctl("audit", "verify", "--file", s.path().toString(), "--public-key", fx.keys[1]);
                assertThat(v.out()).as(s.path().getFileName().toString()).doesNotContain("TAMPERED");
                assertThat(v.exit()).as(v.out()).isIn(0, 3); // 3: a segment without a checkpoint of its own is not verified
            }
        }
    }

    @Test
    void crashBetweenCopyAndTrimLosesNothingAndDuplicatesNothing() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true);
             JedisPooled first = new JedisPooled(URI.create(fx.redis.url()), 5000);
             JedisPooled second = new JedisPooled(URI.create(fx.redis.url()), 5000)) {
            calls(fx, 0, 40);
            Path dir = Files.createTempDirectory("pam-archive");
            StreamArchiver crashed = ArchiveSupport.archiver(first, AuditFixture.STREAM, dir,
                    settings(dir, 1 << 20, Duration.ofSeconds(2)), fx.keys[0], "crashed");
            assertThat(crashed.lease().acquire()).isTrue();
            // copied and durable, then the process dies before the trim: the stream still holds everything
            ArchiveDirectory.Segment seg = crashed.copyNext(StreamId.ZERO, true).orElseThrow();
            assertThat(fx.jedis.xlen(AuditFixture.STREAM)).isGreaterThan(seg.last().equals(seg.first()) ? 0 : 1);
            assertThat(fx.jedis.get(StreamArchiver.cursorKey(AuditFixture.STREAM))).isNull();
            // a half-written segment of the same crash
            Files.writeString(dir.resolve("audit-1-1.jsonl.gz.tmp"), "partial");

            calls(fx, 40, 20); // the runner goes on meanwhile
            fx.runner.stop();
            List<String> stored = positions(fx.entries());

            // the restarted archiver (another process: the dead one's lease expires) resumes after the segment
            StreamArchiver restarted = ArchiveSupport.archiver(second, AuditFixture.STREAM, dir,
                    settings(dir, 1 << 20, Duration.ofSeconds(2)), fx.keys[0], "restarted");
            ArchiveSupport.await("the dead archiver's lease expires", () -> restarted.runOnce(true).holder());
            restarted.close();

            List<String> archivedIds = positions(archived(dir));
            assertThat(new HashSet<>(archivedIds)).hasSameSizeAs(archivedIds); // no duplicates
            assertThat(archivedIds).containsExactlyElementsOf(stored);          // nothing lost, in order
            assertThat(positions(fx.entries())).containsExactly(stored.get(stored.size() - 1));
            assertThat(Files.list(dir).filter(p -> p.toString().endsWith(".tmp")).count()).isZero();
            assertThat(pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]).exit()).isZero();
        }
    }

    @Test
    void redisDownDuringArchivingLosesNothingAndResumes() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 50);
            fx.runner.stop();
            List<String> stored = positions(fx.entries());
            Path dir = Files.createTempDirectory("pam-archive");
            JedisPooled jedis = new JedisPooled(URI.create(fx.redis.url()), 2000);
            StreamArchiver a = ArchiveSupport.archiver(jedis, AuditFixture.STREAM, dir,
                    settings(dir, 8 << 10, Duration.ofSeconds(30)), fx.keys[0], "a");
            assertThat(a.lease().acquire()).isTrue();
            ArchiveDirectory.Segment seg = a.copyNext(StreamId.ZERO, true).orElseThrow();

            // Redis goes away between the segment and its trim (saving first, so it comes back with what it had)
            try {
                fx.jedis.sendCommand(Protocol.Command.SHUTDOWN, "SAVE");
            } catch (RuntimeException expected) {
                // the connection closes under us
            }
            fx.redis.stop();
            assertThatThrownBy(() -> a.commit(seg)).isInstanceOf(redis.clients.jedis.exceptions.JedisException.class);
            assertThatThrownBy(() -> a.runOnce(true)).isInstanceOf(redis.clients.jedis.exceptions.JedisException.class);

            fx.redis.startAgain();
            assertThat(positions(fx.entries())).containsExactlyElementsOf(stored); // nothing was trimmed
            ArchiveSupport.await("archiving resumes", () -> {
                try {
                    return a.runOnce(true).holder();
                } catch (redis.clients.jedis.exceptions.JedisException stillConnecting) {
                    return false;
                }
            });
            a.close();
            jedis.close();

            List<String> archivedIds = positions(archived(dir));
            assertThat(archivedIds).containsExactlyElementsOf(stored);
            assertThat(positions(fx.entries())).containsExactly(stored.get(stored.size() - 1));
            assertThat(pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]).exit()).isZero();
        }
    }

    @Test
    void tamperedSegmentFailsVerifyNamingTheRecord() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            calls(fx, 0, 30);
            fx.runner.stop();
            Path dir = Files.createTempDirectory("pam-archive");
            assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", dir.toString(), "--redis", fx.redis.url(),
                    "--signing-key-file", ArchiveSupport.signingKeyFile(fx)).exit())
                    .isZero();
            Path seg = new ArchiveDirectory(dir).segments().get(0).path();
            List<String> lines = List.of(gunzip(seg).split("\n"));
            // an entry that is a call record: change its response status, keep its hash
            int victim = -1;
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).contains("\"status\":200")) {
                    victim = i;
                    break;
                }
            }
            assertThat(victim).isNotNegative();
            StoredEntry original = io.inferencepam.pam.record.archive.StreamLine.decode(lines.get(victim), "?");
            long seq = CanonicalJson.parse(original.json()).path("seq").asLong();
            String instance = CanonicalJson.parse(original.json()).path("instance").asText();
            List<String> edited = new java.util.ArrayList<>(lines);
            edited.set(victim, lines.get(victim).replaceFirst("\"status\":200", "\"status\":403"));
            gzip(seg, String.join("\n", edited) + "\n");

            ArchiveSupport.Run v = pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]);

            assertThat(v.exit()).isEqualTo(1);
            assertThat(v.out()).contains("MODIFIED instance=" + instance + " seq=" + seq + " at " + original.position())
                    .contains("TAMPERED");
        }
    }

    static String gunzip(Path p) throws Exception {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static void gzip(Path p, String text) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(b)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        Files.write(p, b.toByteArray());
    }
}
