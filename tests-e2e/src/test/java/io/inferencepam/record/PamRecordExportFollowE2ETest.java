package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.calls;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static io.inferencepam.record.ArchiveSupport.positions;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.archive.StreamLine;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code pamctl audit export --follow} (issue 14 §4) as a real process tailing a real runner's
 * stream: killed and restarted, it resumes from its position file without a gap, repeats are
 * identical lines with the same stream id, and the deduplicated output verifies.
 */
class PamRecordExportFollowE2ETest {

    @Test
    void followerResumesAfterKillWithoutGapsAndRepeatsAreIdentifiable() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            Path work = Files.createTempDirectory("pam-follow");
            Path position = work.resolve("position");
            Path out = work.resolve("audit.jsonl");
            calls(fx, 0, 20);
            Process follower = follow(fx, position, out, work.resolve("follower-1.log"));
            ArchiveSupport.await("the follower exports", () -> lines(out).size() >= 20);
            calls(fx, 20, 20);
            follower.destroyForcibly().waitFor(); // kill -9, possibly between a batch and its position
            calls(fx, 40, 20);                   // written while no follower runs
            follower = follow(fx, position, out, work.resolve("follower-2.log"));
            calls(fx, 60, 20);
            fx.runner.stop();                    // final checkpoint: the stream is complete
            List<String> stored = positions(fx.entries());
            ArchiveSupport.await("the follower catches up", () -> streamIds(out).containsAll(stored));
            follower.destroyForcibly().waitFor();

            Map<String, String> firstLineById = new LinkedHashMap<>();
            for (String line : lines(out)) {
                StoredEntry e = StreamLine.decode(line, "?");
                String before = firstLineById.putIfAbsent(e.position(), line);
                if (before != null) {
                    assertThat(line).as("a repeat is the same line").isEqualTo(before);
                }
            }
            assertThat(new ArrayList<>(firstLineById.keySet())).containsExactlyElementsOf(stored); // no gap, in order
            Path deduplicated = work.resolve("dedup.jsonl");
            Files.write(deduplicated, firstLineById.values(), StandardCharsets.UTF_8);
            ArchiveSupport.Run v = pamctl("audit", "verify", "--file", deduplicated.toString(), "--public-key", fx.keys[1]);
            assertThat(v.exit()).as(v.out()).isZero();

            // stopped while the archiver trimmed past its position: it refuses to jump the gap
            Path archive = work.resolve("archive");
            assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", archive.toString(), "--redis", fx.redis.url())
                    .exit()).isZero();
            Files.writeString(position, stored.get(0) + "\n");
            ArchiveSupport.Run gap = pamctl("audit", "export", "--follow", "--redis", fx.redis.url(), "--position",
                    position.toString(), "-o", work.resolve("after-gap.jsonl").toString());
            assertThat(gap.exit()).isEqualTo(4);
            assertThat(gap.err()).contains("after this export's position " + stored.get(0));
        }
    }

    private static Process follow(AuditFixture fx, Path position, Path out, Path log) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), "io.inferencepam.pam.cli.Pamctl", "audit", "export", "--follow",
                "--redis", fx.redis.url(), "--position", position.toString(), "-o", out.toString(), "--batch", "7");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static List<String> lines(Path out) throws Exception {
        if (!Files.exists(out)) {
            return List.of();
        }
        List<String> all = Files.readAllLines(out, StandardCharsets.UTF_8);
        return all.isEmpty() || all.get(all.size() - 1).endsWith("}") ? all : all.subList(0, all.size() - 1);
    }

    private static Set<String> streamIds(Path out) throws Exception {
        Set<String> ids = new HashSet<>();
        for (String line : lines(out)) {
            String id = StreamLine.decode(line, "?").position();
            if (StreamId.parseOrNull(id) != null) {
                ids.add(id);
            }
        }
        return ids;
    }
}
