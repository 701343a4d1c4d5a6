package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.sink.ChainedEntry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bounded hand-off alone: FIFO order, each batch finished once, the take-over at close. */
class HandoffTest {
    private final List<Long> overflowDurable = new ArrayList<>();
    private final Handoff h = new Handoff(overflowDurable::add);

    private Handoff.Batch batch(long seq, long overflowEnd) {
        return h.open(List.of(new ChainedEntry("i", seq, "{\"seq\":" + seq + "}")), null, overflowEnd);
    }

    @Test
    void batchesComeOutInOrderAndEachIsFinishedOnce() throws Exception {
        Handoff.Batch a = batch(1, -1);
        Handoff.Batch b = batch(2, 42);
        synchronized (h) {
            h.addLocked(a);
            h.addLocked(b);
        }
        h.end();
        assertThat(h.unfinished()).isEqualTo(2);
        assertThat(h.next(0)).isSameAs(a);
        h.done(a);
        assertThat(h.next(0)).isSameAs(b);
        h.done(b);
        h.done(b);
        assertThat(h.unfinished()).isZero();
        assertThat(overflowDurable).as("released once, when durable").containsExactly(42L);
        assertThat(h.next(0)).isSameAs(Handoff.END);
    }

    @Test
    void anEmptyWaitWithATimerReturnsNothing() throws Exception {
        assertThat(h.next(1)).isNull();
    }

    @Test
    void theTakeOverSpoolsTheBatchInFlightAndTheQueuedOnesInChainOrder() throws Exception {
        Handoff.Batch a = batch(1, -1);
        Handoff.Batch b = batch(2, -1);
        synchronized (h) {
            h.addLocked(a);
            h.addLocked(b);
        }
        assertThat(h.next(0)).isSameAs(a); // the store stage hangs on it
        List<Long> spooled = new ArrayList<>();
        h.takeOver(batches -> {
            batches.forEach(x -> x.entries.forEach(e -> spooled.add(e.seq())));
            return true;
        });
        assertThat(spooled).containsExactly(1L, 2L);
        assertThat(a.takenOver).isTrue();
        assertThat(h.unfinished()).isZero();
        assertThat(h.next(0)).isSameAs(Handoff.ABANDONED);
        h.done(a); // the hung write returns later: counted once
        assertThat(h.unfinished()).isZero();
    }
}
