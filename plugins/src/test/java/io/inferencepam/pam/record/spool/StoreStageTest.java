package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store stage alone, driven step by step: sink or spool, then the drain in order, once. */
class StoreStageTest {
    @TempDir
    Path dir;

    @Test
    void whileTheSinkFailsBatchesAreSpooledAndDrainedInOrderOnceItIsBack() throws Exception {
        AuditWriterTest.Outage sink = new AuditWriterTest.Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        Spool spool = new Spool(dir.resolve("spool"), 1 << 20, 0);
        AuditWriter.Stats stats = new AuditWriter.Stats();
        List<Integer> sizes = new ArrayList<>();
        stats.observeSinkWrites(sizes::add);
        Handoff handoff = new Handoff(x -> { });
        CheckpointerTest.MutableClock clock = new CheckpointerTest.MutableClock();
        StoreStage store = new StoreStage(sink, spool, handoff, stats, clock, 16, Duration.ofSeconds(2), "s");
        HashChain chain = new HashChain("s");
        List<Handoff.Batch> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] json = chain.linkAndEncode(AuditWriterTest.record(i));
            batches.add(handoff.open(List.of(new ChainedEntry("s", chain.seq(), json)), null, -1));
        }
        store.route(batches.get(0));
        sink.down = true;
        store.route(batches.get(1));
        assertThat(store.up()).isFalse();
        sink.down = false;
        store.route(batches.get(2)); // something is spooled: this one goes behind it, not ahead
        assertThat(stats.spooled.get()).isEqualTo(2);
        store.drainIfDue();
        assertThat(spool.hasPending()).as("not before the retry is due").isTrue();
        clock.millis += StoreStage.FIRST_BACKOFF_MILLIS;
        store.drainIfDue();
        assertThat(store.up()).isTrue();
        assertThat(spool.hasPending()).isFalse();
        assertThat(AuditWriterTest.storedIds(sink)).containsExactly("req-0", "req-1", "req-2");
        assertThat(handoff.unfinished()).isZero();
        assertThat(stats.lost.get()).isZero();
        // what reached the sink, write by write: the first batch, then the drain of both spooled ones in one write
        assertThat(sizes).containsExactly(1, 2);
        assertThat(stats.sinkWrites.get()).isEqualTo(2);
        assertThat(stats.sinkWriteEntries.get()).isEqualTo(3);
    }

    /** The write histogram is a metric: one that throws must not make a stored batch look unstored (spooled again). */
    @Test
    void aThrowingWriteObserverLeavesAStoredBatchStored() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        Spool spool = new Spool(dir.resolve("spool"), 1 << 20, 0);
        AuditWriter.Stats stats = new AuditWriter.Stats();
        stats.observeSinkWrites(n -> {
            throw new IllegalStateException("metric broken");
        });
        Handoff handoff = new Handoff(x -> { });
        StoreStage store = new StoreStage(sink, spool, handoff, stats, new CheckpointerTest.MutableClock(), 16,
                Duration.ofSeconds(2), "s");
        HashChain chain = new HashChain("s");
        byte[] json = chain.linkAndEncode(AuditWriterTest.record(0));
        store.route(handoff.open(List.of(new ChainedEntry("s", chain.seq(), json)), null, -1));
        assertThat(store.up()).isTrue();
        assertThat(stats.spooled.get()).isZero();
        assertThat(spool.hasPending()).isFalse();
        assertThat(stats.written.get()).isEqualTo(1);
        assertThat(stats.sinkWrites.get()).isEqualTo(1);
        assertThat(AuditWriterTest.storedIds(sink)).containsExactly("req-0");
    }

    /** An Error from the sink (not an Exception) spools the batch like any store failure: no gap, nothing lost (review B, session 6). */
    @Test
    void anErrorFromTheSinkSpoolsTheBatch() throws Exception {
        AuditWriterTest.Outage sink = new AuditWriterTest.Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        Spool spool = new Spool(dir.resolve("spool"), 1 << 20, 0);
        AuditWriter.Stats stats = new AuditWriter.Stats();
        Handoff handoff = new Handoff(x -> { });
        CheckpointerTest.MutableClock clock = new CheckpointerTest.MutableClock();
        StoreStage store = new StoreStage(sink, spool, handoff, stats, clock, 16, Duration.ofSeconds(2), "s");
        HashChain chain = new HashChain("s");
        byte[] json = chain.linkAndEncode(AuditWriterTest.record(0));
        sink.error = new NoClassDefFoundError("redis/clients/jedis/Pipeline"); // an Error, as an OutOfMemoryError would be
        store.route(handoff.open(List.of(new ChainedEntry("s", chain.seq(), json)), null, -1));
        assertThat(store.up()).isFalse();
        assertThat(stats.spooled.get()).isEqualTo(1);
        assertThat(stats.lost.get()).isZero();
        assertThat(handoff.unfinished()).isZero();
        sink.error = null;
        clock.millis += StoreStage.FIRST_BACKOFF_MILLIS;
        store.drainIfDue();
        assertThat(spool.hasPending()).isFalse();
        assertThat(AuditWriterTest.storedIds(sink)).containsExactly("req-0");
    }
}
