package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    @TempDir
    Path dir;

    @Test
    void linesComeBackInOrderAndCommitResetsWhenDrained() throws Exception {
        Spool s = new Spool(dir, 1 << 20, 0);
        s.append(List.of("{\"a\":1}", "{\"a\":2}"));
        s.append(List.of("{\"a\":3}"));
        Spool.Batch b = s.read(2);
        assertThat(b.lines()).containsExactly("{\"a\":1}", "{\"a\":2}");
        s.commit(b.endOffset());
        assertThat(s.hasPending()).isTrue();
        // survives a restart: the offset is on disk
        Spool again = new Spool(dir, 1 << 20, 0);
        Spool.Batch rest = again.read(10);
        assertThat(rest.lines()).containsExactly("{\"a\":3}");
        again.commit(rest.endOffset());
        assertThat(again.hasPending()).isFalse();
        assertThat(again.size()).isZero();
    }

    @Test
    void aPartialLineLeftByACrashIsDropped() throws Exception {
        Spool s = new Spool(dir, 1 << 20, 0);
        s.append(List.of("{\"a\":1}"));
        Files.writeString(dir.resolve("spool.jsonl"), "{\"a\":2", StandardOpenOption.APPEND);
        Spool reopened = new Spool(dir, 1 << 20, 0);
        assertThat(reopened.read(10).lines()).containsExactly("{\"a\":1}");
    }

    @Test
    void aFullSpoolRefusesAndSaysSo() throws Exception {
        Spool s = new Spool(dir, 20, 0);
        s.append(List.of("{\"a\":1}"));
        assertThat(s.canAccept()).isTrue();
        assertThatThrownBy(() -> s.append(List.of("{\"a\":\"0123456789\"}"))).isInstanceOf(Spool.SpoolFullException.class);
        assertThat(s.read(10).lines()).containsExactly("{\"a\":1}");
    }
}
