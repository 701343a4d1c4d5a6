package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The queue-full path alone: grouped appends to a real overflow spool, each record counted once. */
class OverflowAppendsTest {
    @TempDir
    Path dir;

    private final AuditWriter.Stats stats = new AuditWriter.Stats();
    private final AtomicInteger wakes = new AtomicInteger();

    private OverflowAppends appends(Spool overflow, Executor io) {
        return new OverflowAppends(overflow, io, stats, r -> {
            try {
                return r.unlinked();
            } catch (RuntimeException e) {
                stats.lost.incrementAndGet();
                return null;
            }
        }, wakes::incrementAndGet);
    }

    @Test
    void recordsWaitingWhileADrainIsHeldShareOneAppendAndWakeTheChainStage() throws Exception {
        Spool overflow = new Spool(dir.resolve("o"), 1 << 20, 0);
        List<Runnable> held = new ArrayList<>();
        OverflowAppends o = appends(overflow, held::add);
        for (int i = 0; i < 5; i++) {
            o.reserve(1);
            assertThat(o.add(() -> AuditWriterTest.record(0))).isTrue();
        }
        assertThat(held).as("one drain scheduled for the five").hasSize(1);
        assertThat(o.inFlight()).isEqualTo(5);
        held.get(0).run();
        assertThat(AuditWriterTest.pendingLines(overflow)).hasSize(5);
        assertThat(stats.overflowed.get()).isEqualTo(5);
        assertThat(o.inFlight()).isZero();
        assertThat(wakes.get()).as("the chain stage is told there is overflow to link").isPositive();
    }

    @Test
    void aGroupTooBigForTheSpoolKeepsWhatFitsAndCountsTheRestLostOnce() throws Exception {
        int line = (com.fasterxml.jackson.databind.json.JsonMapper.builder().build().writeValueAsString(AuditWriterTest.record(0)) + "\n").length();
        Spool overflow = new Spool(dir.resolve("o"), 2L * line + line / 2, 0);
        OverflowAppends o = appends(overflow, Runnable::run);
        List<AuditWriter.Record> group = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            group.add(() -> AuditWriterTest.record(0));
        }
        group.add(() -> {
            throw new IllegalStateException("bug");
        });
        o.reserve(group.size());
        assertThat(o.append(group)).isFalse();
        assertThat(stats.overflowed.get()).isEqualTo(2);
        assertThat(stats.lost.get()).as("two that did not fit, one that did not build").isEqualTo(3);
        assertThat(o.inFlight()).isZero();
    }

    @Test
    void whenTheExecutorRefusesTheCallerAppendsAndFlushTakesWhatIsLeft() throws Exception {
        Spool overflow = new Spool(dir.resolve("o"), 1 << 20, 0);
        OverflowAppends o = appends(overflow, r -> {
            throw new RejectedExecutionException();
        });
        o.reserve(1);
        assertThat(o.add(() -> AuditWriterTest.record(1))).isTrue();
        assertThat(AuditWriterTest.pendingLines(overflow)).hasSize(1);
        o.flush(System.nanoTime());
        assertThat(o.inFlight()).isZero();
        assertThat(o.hasWaiting()).isFalse();
    }
}
