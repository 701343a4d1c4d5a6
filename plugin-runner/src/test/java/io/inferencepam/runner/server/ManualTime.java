package io.inferencepam.runner.server;

import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A clock and a deadline timer that move only when the test says so ({@link #advance}): a
 * deadline then passes because the test passed it, never because a loaded host was slow to
 * schedule a plugin thread. Timeouts fire on the advancing thread, in the order they fall due,
 * each with the clock set to its due time.
 */
final class ManualTime implements Timer, LongSupplier {
    private final AtomicLong now = new AtomicLong();
    private final List<Pending> pending = new ArrayList<>();

    @Override
    public long getAsLong() {
        return now.get();
    }

    /** Moves the clock on by {@code by}, firing every timeout that falls due up to then. */
    void advance(Duration by) {
        long target = now.get() + by.toNanos();
        for (Pending due; (due = nextDue(target)) != null; ) {
            now.accumulateAndGet(due.dueNanos, Math::max);
            due.fire();
        }
        now.set(target);
    }

    /** Timeouts armed and neither fired nor cancelled. */
    synchronized int armed() {
        return pending.size();
    }

    private synchronized Pending nextDue(long target) {
        Pending first = pending.stream().min(Comparator.comparingLong(p -> p.dueNanos)).orElse(null);
        if (first == null || first.dueNanos > target) {
            return null;
        }
        pending.remove(first);
        return first;
    }

    @Override
    public synchronized Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
        Pending p = new Pending(task, now.get() + unit.toNanos(delay));
        pending.add(p);
        return p;
    }

    @Override
    public synchronized Set<Timeout> stop() {
        Set<Timeout> left = Set.copyOf(pending);
        pending.clear();
        return left;
    }

    private final class Pending implements Timeout {
        final TimerTask task;
        final long dueNanos;
        private volatile boolean expired;
        private volatile boolean cancelled;

        Pending(TimerTask task, long dueNanos) {
            this.task = task;
            this.dueNanos = dueNanos;
        }

        void fire() {
            expired = true;
            try {
                task.run(this);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public Timer timer() {
            return ManualTime.this;
        }

        @Override
        public TimerTask task() {
            return task;
        }

        @Override
        public boolean isExpired() {
            return expired;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean cancel() {
            synchronized (ManualTime.this) {
                if (expired || !pending.remove(this)) {
                    return false;
                }
            }
            cancelled = true;
            return true;
        }
    }
}
