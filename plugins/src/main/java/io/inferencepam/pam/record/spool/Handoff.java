package io.inferencepam.pam.record.spool;

import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.sink.ChainedEntry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import java.util.function.Predicate;

/**
 * The bounded FIFO of linked batches from the chain stage to the store stage, and each batch's
 * way to its end: stored, spooled or counted lost, exactly once ({@link #finish}). The store
 * stage waits here without a timer while nothing is handed off. Its monitor also orders what the
 * chain stage publishes for {@code close()} (methods named {@code …Locked} need it held).
 */
final class Handoff {
    /** How many linked batches the chain stage may run ahead of the store stage (bounded memory). */
    static final int CAPACITY = 4;

    /** Linked entries on their way to the store. */
    static final class Batch {
        final List<ChainedEntry> entries;
        /** The chain head after the last entry: reported as durable once the batch is. */
        final ChainHead head;
        /** Where the overflow lines linked into this batch end, or -1: released once the batch is durable. */
        long overflowEnd;
        final CountDownLatch finished = new CountDownLatch(1);
        /** Set under the monitor when close() spooled this batch while the store stage held it. */
        boolean takenOver;
        private boolean done;

        Batch(List<ChainedEntry> entries, ChainHead head, long overflowEnd) {
            this.entries = entries;
            this.head = head;
            this.overflowEnd = overflowEnd;
        }
    }

    /** The chain stage's last word: the store stage ends when it takes it. */
    static final Batch END = new Batch(List.of(), null, -1);
    /** Returned to the store stage once close() took over what was left. */
    static final Batch ABANDONED = new Batch(List.of(), null, -1);

    private final ArrayDeque<Batch> fifo = new ArrayDeque<>();
    private final AtomicInteger unfinished = new AtomicInteger();
    /** Told where the overflow lines of a finished batch end. */
    private final LongConsumer overflowDurable;
    private Batch inFlight;
    private volatile boolean abandoned;
    /** The store stage's thread waits in {@link #next} (nothing in its hands): a batch may be stored by the chain stage. */
    private boolean storeWaiting;
    /** {@link #inFlight} is being stored by the chain stage's thread: the store stage's thread waits until it is done. */
    private boolean storedHere;
    /** The store stage's thread woke while the chain stage stores a batch, and waits for it to finish. */
    private boolean storeWaitsForHere;

    Handoff(LongConsumer overflowDurable) {
        this.overflowDurable = overflowDurable;
    }

    /** Batches handed off and not yet stored, spooled or counted lost. */
    int unfinished() {
        return unfinished.get();
    }

    boolean abandoned() {
        return abandoned;
    }

    /** Counts a batch before its records stop being counted elsewhere (so idle() never sees them nowhere). */
    Batch open(List<ChainedEntry> entries, ChainHead head, long overflowEnd) {
        unfinished.incrementAndGet();
        return new Batch(entries, head, overflowEnd);
    }

    /** Waits while the FIFO is full (and not abandoned). */
    void awaitRoomLocked() throws InterruptedException {
        while (!abandoned && fifo.size() >= CAPACITY) {
            wait();
        }
    }

    void addLocked(Batch b) {
        fifo.addLast(b);
        notifyAll();
    }

    synchronized void end() {
        addLocked(END);
    }

    /**
     * The store stage's next batch: waits until one is handed off, or {@code maxWaitMillis}
     * (0: without a timer). Null when the wait ended with nothing; {@link #END} or
     * {@link #ABANDONED} when the store stage is done.
     */
    synchronized Batch next(long maxWaitMillis) throws InterruptedException {
        storeWaiting = true;
        try {
            if ((fifo.isEmpty() || storedHere) && !abandoned) {
                wait(maxWaitMillis);
            }
            while (storedHere && !abandoned) {
                storeWaitsForHere = true;
                wait(); // one writer at a time, in chain order: the chain stage finishes its batch first
            }
        } finally {
            storeWaiting = false;
            storeWaitsForHere = false;
        }
        if (abandoned) {
            return ABANDONED;
        }
        Batch b = fifo.pollFirst();
        if (b != null && b != END) {
            inFlight = b;
            notifyAll(); // room for the chain stage
        }
        return b;
    }

    /** The store stage is done with {@code b}: stored, spooled, or counted lost. */
    synchronized void done(Batch b) {
        inFlight = null;
        finish(b);
    }

    /**
     * Whether the chain stage's thread stores {@code b} itself ({@link StoreStage#storeHere}) instead
     * of handing it on: only when the store stage's thread waits with nothing in its hands and
     * nothing handed off before (so chain order is kept). That saves the wake-up of a second
     * thread per batch at moderate rates; at higher ones the store stage overlaps the round trip
     * with the next batch's linking, as before. The batch is then in flight like one the store
     * stage took: close() takes it over the same way.
     */
    boolean storeHereLocked(Batch b) {
        if (!storeWaiting || storedHere || inFlight != null || !fifo.isEmpty() || abandoned) {
            return false;
        }
        inFlight = b;
        storedHere = true;
        return true;
    }

    /**
     * The chain stage is done with a batch it stored itself. The store stage's thread is woken
     * only if it has work now (spooled entries to retry) or woke meanwhile and waits for this.
     */
    synchronized void doneHere(Batch b, boolean storeStageNeeded) {
        storedHere = false;
        inFlight = null;
        finish(b);
        if (storeStageNeeded || storeWaitsForHere) {
            notifyAll();
        }
    }

    /** Once per batch, under the monitor. */
    void finish(Batch b) {
        if (!b.done) {
            b.done = true;
            if (b.overflowEnd >= 0) {
                overflowDurable.accept(b.overflowEnd);
            }
            unfinished.decrementAndGet();
            b.finished.countDown();
        }
    }

    /**
     * close() gave up on a stuck store stage: what it holds and what waits for it, in chain
     * order, goes to {@code spool} (true when kept); later batches are spooled by the chain stage.
     * Returns the batches taken over.
     */
    synchronized List<Batch> takeOver(Predicate<List<Batch>> spool) {
        abandoned = true;
        List<Batch> rest = new ArrayList<>();
        if (inFlight != null) {
            inFlight.takenOver = true; // its write may still succeed: the drain skips it by seq then
            rest.add(inFlight);
        }
        for (Batch b : fifo) {
            if (b != END) {
                rest.add(b);
            }
        }
        fifo.clear();
        if (!rest.isEmpty()) {
            spool.test(rest);
        }
        rest.forEach(this::finish);
        notifyAll();
        return rest;
    }
}
