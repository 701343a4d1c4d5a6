package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesFileSinkTest {
    @TempDir
    Path dir;

    @Test
    void rotatesBySizeKeepsOrderAndDeletesTheOldest() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir, 100, 2);
        for (int i = 1; i <= 20; i++) {
            sink.write(List.of(new ChainedEntry("a", i, "{\"seq\":" + i + ",\"pad\":\"0123456789012345678901234567890123456789\"}")));
        }
        List<Path> files = sink.files();
        assertThat(files.get(files.size() - 1).getFileName().toString()).isEqualTo("audit.jsonl");
        assertThat(files).hasSize(3); // two rotated kept + the active one
        assertThat(Files.exists(dir.resolve("audit-000001.jsonl"))).isFalse();
        List<Integer> seqs = new ArrayList<>();
        sink.scan(0, (StoredEntry e) -> seqs.add(Integer.parseInt(e.json().replaceAll(".*\"seq\":(\\d+).*", "$1"))));
        assertThat(seqs).isSorted().endsWith(20);
        assertThat(sink.highestSeq("a")).isEqualTo(20);
        assertThat(sink.highestSeq("b")).isZero();
    }
}
