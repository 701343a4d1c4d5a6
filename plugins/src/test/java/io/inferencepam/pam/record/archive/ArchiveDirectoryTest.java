package io.inferencepam.pam.record.archive;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveDirectoryTest {
    @TempDir
    Path dir;

    private ArchiveDirectory.Segment segment(ArchiveDirectory d, long... millis) throws Exception {
        try (ArchiveDirectory.SegmentWriter w = d.newSegment()) {
            for (long m : millis) {
                w.append(m + "-0", "{\"n\":" + m + "}");
            }
            return w.commit().orElseThrow().segment();
        }
    }

    @Test
    void segmentsAreNamedByTheirIdsAndReadBackInStreamOrder() throws Exception {
        ArchiveDirectory d = new ArchiveDirectory(dir);
        segment(d, 30, 40);
        segment(d, 10, 20);
        assertThat(d.segments()).extracting(s -> s.path().getFileName().toString())
                .containsExactly("audit-10-0_20-0.jsonl.gz", "audit-30-0_40-0.jsonl.gz");
        assertThat(d.lastArchived()).contains(new StreamId(40, 0));
        List<StoredEntry> read = new ArrayList<>();
        ArchiveDirectory.scan(d.segments().stream().map(ArchiveDirectory.Segment::path).toList(), read::add);
        assertThat(read).extracting(StoredEntry::position).containsExactly("10-0", "20-0", "30-0", "40-0");
        assertThat(read.get(0).json()).isEqualTo("{\"n\":10}");
    }

    @Test
    void anAbortedOrCrashedSegmentLeavesNothingBehindAndNoSegment() throws Exception {
        ArchiveDirectory d = new ArchiveDirectory(dir);
        try (ArchiveDirectory.SegmentWriter w = d.newSegment()) {
            w.append("5-0", "{}");
        } // closed without commit: aborted
        Files.writeString(dir.resolve("audit-1-1.jsonl.gz.tmp"), "half");
        assertThat(d.segments()).isEmpty();
        assertThat(d.removeTemporaries()).isEqualTo(1);
        assertThat(Files.list(dir).count()).isZero();
        try (ArchiveDirectory.SegmentWriter w = d.newSegment()) {
            assertThat(w.commit()).isEmpty(); // nothing appended: no segment
        }
    }

    @Test
    void retentionDeletesOnlySegmentsWhoseNewestEntryIsOlderThanTheCutoff() throws Exception {
        ArchiveDirectory d = new ArchiveDirectory(dir);
        segment(d, 1_000, 5_000);
        segment(d, 6_000, 9_000);
        assertThat(d.deleteOlderThan(Instant.ofEpochMilli(8_000), s -> { })).isEqualTo(1);
        assertThat(d.segments()).extracting(ArchiveDirectory.Segment::first).containsExactly(new StreamId(6_000, 0));
    }

    @Test
    void entriesMustFollowStreamOrder() throws Exception {
        ArchiveDirectory d = new ArchiveDirectory(dir);
        try (ArchiveDirectory.SegmentWriter w = d.newSegment()) {
            w.append("5-1", "{}");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> w.append("5-1", "{}"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
