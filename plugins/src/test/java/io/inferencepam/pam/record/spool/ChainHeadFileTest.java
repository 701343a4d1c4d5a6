package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.ChainHead;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainHeadFileTest {
    @TempDir
    Path dir;

    @Test
    void theHeadSurvivesARestartAndOnlyMovesForward() throws Exception {
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).isEmpty();
            f.durable(new ChainHead("gw-1", 7, "a".repeat(64), 1000), false);
            f.durable(new ChainHead("gw-1", 5, "b".repeat(64), 2000), true); // an older batch reported late
            assertThat(f.stored()).contains(new ChainHead("gw-1", 5, "b".repeat(64), 2000));
        }
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).contains(new ChainHead("gw-1", 7, "a".repeat(64), 1000));
            assertThat(f.stored()).isEmpty(); // known per lifetime only
        }
    }

    /** A crash that tears the newest head's write leaves the one before (the store, if ahead, is followed at start). */
    @Test
    void aTornWriteFallsBackToThePreviousHead() throws Exception {
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            f.durable(new ChainHead("gw-1", 7, "a".repeat(64), 1000), false);
            f.durable(new ChainHead("gw-1", 8, "b".repeat(64), 2000), false);
        }
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).contains(new ChainHead("gw-1", 8, "b".repeat(64), 2000));
        }
        byte[] b = Files.readAllBytes(dir.resolve(ChainHeadFile.NAME));
        b[20] ^= 1; // the last write (the first bytes of the file) torn
        Files.write(dir.resolve(ChainHeadFile.NAME), b);
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).contains(new ChainHead("gw-1", 7, "a".repeat(64), 1000));
            f.durable(new ChainHead("gw-1", 9, "c".repeat(64), 3000), false); // overwrites the torn slot, not the good one
        }
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).contains(new ChainHead("gw-1", 9, "c".repeat(64), 3000));
        }
    }

    @Test
    void aTornOrForeignFileReadsAsNoHead() throws Exception {
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            f.durable(new ChainHead("gw-1", 7, "a".repeat(64), 1000), false);
        }
        byte[] b = Files.readAllBytes(dir.resolve(ChainHeadFile.NAME));
        b[b.length - 512 + 20] ^= 1; // one flipped bit in the only slot written: the CRC no longer matches
        Files.write(dir.resolve(ChainHeadFile.NAME), b);
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).isEmpty();
        }
        Files.writeString(dir.resolve(ChainHeadFile.NAME), "garbage");
        try (ChainHeadFile f = ChainHeadFile.open(dir)) {
            assertThat(f.atStart()).isEmpty();
        }
    }
}
