package io.inferencepam.pam.record.spool;

import io.inferencepam.pam.record.chain.UnlinkedEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The way of a record that finds the writer's queue full: it is appended, unlinked, to the
 * {@code overflow} spool, and the chain stage links it later. Appends are grouped (one append and
 * one fsync per group, not per record) and run on the given executor (the runner's blocking
 * pool), so a slow disk never parks a plugin thread on fsync. Every record is counted once:
 * overflowed, or lost when the spool refuses it.
 */
final class OverflowAppends {
    private static final Logger LOG = LoggerFactory.getLogger(OverflowAppends.class);
    /** At most this many records per append. */
    static final int GROUP = 1024;

    private final Spool overflow;
    private final Executor io;
    private final AuditWriter.Stats stats;
    /** Builds a record; null when that failed (counted lost by the builder). */
    private final Function<AuditWriter.Record, UnlinkedEntry> build;
    /** Told after lines were appended: the chain stage has overflow lines to link. */
    private final Runnable appended;
    private final ConcurrentLinkedQueue<AuditWriter.Record> waiting = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    /** Records reserved ({@link #reserve}) and not yet appended or counted lost. */
    private final AtomicInteger inFlight = new AtomicInteger();

    OverflowAppends(Spool overflow, Executor io, AuditWriter.Stats stats, Function<AuditWriter.Record, UnlinkedEntry> build,
                    Runnable appended) {
        this.overflow = overflow;
        this.io = io;
        this.stats = stats;
        this.build = build;
        this.appended = appended;
    }

    /** Counts {@code n} records as on their way here, before the caller stops counting them elsewhere. */
    void reserve(int n) {
        inFlight.addAndGet(n);
    }

    /** Records reserved and not yet appended or counted lost. */
    int inFlight() {
        return inFlight.get();
    }

    /** Whether records wait for a drain nobody runs (left by a bounded drain). */
    boolean hasWaiting() {
        return !waiting.isEmpty();
    }

    /** A reserved record: appended by the next drain. False only if it could not be kept (counted lost). */
    boolean add(AuditWriter.Record record) {
        waiting.add(record);
        return schedule();
    }

    /**
     * Starts a drain on the executor unless one is running (it will take this record too). If the
     * executor refuses, the caller drains, but one group at most: otherwise one plugin thread
     * could drain everyone's overflow for as long as the overload lasts.
     */
    boolean schedule() {
        if (!draining.compareAndSet(false, true)) {
            return true;
        }
        try {
            io.execute(() -> drain(Integer.MAX_VALUE));
            return true;
        } catch (RejectedExecutionException e) {
            return drain(1);
        }
    }

    /** Appends what waits, in groups, until nothing does or {@code maxGroups} were appended. False if any was lost. */
    private boolean drain(int maxGroups) {
        boolean kept = true;
        try {
            while (true) {
                kept &= appendWaiting(maxGroups);
                draining.set(false);
                // A record added between the check above and the flag's release would wait for the
                // next one: take the flag back if so, else stop. A bounded drain stops anyway.
                if (maxGroups != Integer.MAX_VALUE || waiting.isEmpty() || !draining.compareAndSet(false, true)) {
                    return kept;
                }
            }
        } catch (Error e) {
            // An Error (a builder's StackOverflowError, an OutOfMemoryError) must not leave the flag
            // held: every later record would wait forever.
            draining.set(false);
            if (!waiting.isEmpty()) {
                schedule();
            }
            throw e;
        }
    }

    private boolean appendWaiting(int maxGroups) {
        boolean kept = true;
        for (int n = 0; n < maxGroups; n++) {
            List<AuditWriter.Record> group = new ArrayList<>();
            AuditWriter.Record r;
            while (group.size() < GROUP && (r = waiting.poll()) != null) {
                group.add(r);
            }
            if (group.isEmpty()) {
                return kept;
            }
            kept &= append(group);
        }
        return kept;
    }

    /**
     * One append (one fsync) for a reserved group; counted overflowed, or lost if the spool
     * refuses it. A group that does not fit what is left of the spool is split, so the records
     * that fit are kept. Each record is counted once.
     */
    boolean append(List<AuditWriter.Record> group) {
        int prepared = 0; // records turned into a line, or counted lost by the builder or here
        try {
            List<String> lines = new ArrayList<>(group.size());
            for (AuditWriter.Record r : group) {
                UnlinkedEntry built = build.apply(r);
                if (built != null) {
                    try {
                        lines.add(built.json());
                    } catch (RuntimeException e) {
                        stats.lost.incrementAndGet();
                        LOG.error("audit record lost: it could not be serialized ({})", e.getClass().getName());
                    }
                }
                prepared++;
            }
            boolean kept = appendLines(lines) && lines.size() == group.size();
            appended.run();
            return kept;
        } catch (Error e) {
            stats.lost.addAndGet(group.size() - prepared); // the record that threw, and those not reached
            throw e;
        } finally {
            inFlight.addAndGet(-group.size());
        }
    }

    private boolean appendLines(List<String> lines) {
        if (lines.isEmpty()) {
            return true;
        }
        try {
            overflow.append(lines);
            stats.overflowed.addAndGet(lines.size());
            return true;
        } catch (Spool.SpoolFullException e) {
            if (lines.size() > 1) {
                int half = lines.size() / 2; // in order: what fits of the first half, then of the second
                boolean first = appendLines(lines.subList(0, half));
                return appendLines(lines.subList(half, lines.size())) && first;
            }
            return lost(1, e);
        } catch (IOException | RuntimeException e) {
            return lost(lines.size(), e);
        }
    }

    private boolean lost(int n, Exception e) {
        stats.lost.addAndGet(n);
        LOG.error("{} audit records lost: queue full and overflow spool refused them ({})", n, e.getClass().getSimpleName());
        return false;
    }

    /**
     * At shutdown: what waits is appended here, unless a drain on the executor already holds it
     * (then wait for it, until the deadline): the executor may be shut down right after, and
     * nothing may be left only in memory.
     */
    void flush(long deadlineNanos) {
        while (inFlight.get() > 0 && System.nanoTime() < deadlineNanos) {
            if (!waiting.isEmpty() && draining.compareAndSet(false, true)) {
                drain(Integer.MAX_VALUE);
            } else {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
            }
        }
        // The drain that holds the flag never ran (an executor shut down, or stuck): take over.
        // Each record is polled once, so a late drain cannot append one twice.
        appendWaiting(Integer.MAX_VALUE);
    }
}
