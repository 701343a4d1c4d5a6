package io.inferencepam.runner.server;

import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The per-call deadline timer: Netty's {@link HashedWheelTimer} (lock-free to arm and cancel,
 * coarse ticks), but ticking only while timeouts are pending. A wheel's worker, once started,
 * ticks until it is stopped: an idle runner would wake it a hundred times a second for nothing.
 * Here a wheel that armed nothing and held nothing for one {@code idle} period is retired and
 * stopped (by the {@code reaper}, which itself runs only while a wheel lives); the next timeout
 * starts a new wheel (one thread start after an idle spell).
 *
 * <p>A wheel is retired only while no caller is arming a timeout on it (a per-wheel count of
 * callers, with a retired mark that keeps new callers off), so no timeout is ever added to a
 * stopped wheel; one armed just before the retirement keeps its wheel running until it is done.
 */
public final class IdleStoppingTimer implements Timer {
    private final Supplier<HashedWheelTimer> newWheel;
    private final ScheduledExecutorService reaper;
    private final long idleMillis;
    private final Object lock = new Object();
    private volatile Wheel current;
    /** Retired wheels still holding a timeout armed just before their retirement (under {@link #lock}). */
    private final List<Wheel> draining = new ArrayList<>();
    private ScheduledFuture<?> reaping;
    private boolean stopped;

    /** One wheel and who uses it. */
    private static final class Wheel {
        private static final long RETIRED = Long.MIN_VALUE;
        final HashedWheelTimer timer;
        /** Callers arming a timeout now; {@link #RETIRED} once retired. */
        final AtomicLong users = new AtomicLong();
        final AtomicLong armed = new AtomicLong();
        long armedAtLastReap = -1;

        Wheel(HashedWheelTimer timer) {
            this.timer = timer;
        }

        boolean enter() {
            while (true) {
                long u = users.get();
                if (u == RETIRED) {
                    return false;
                }
                if (users.compareAndSet(u, u + 1)) {
                    return true;
                }
            }
        }

        void exit() {
            users.decrementAndGet();
        }

        boolean retire() {
            return users.compareAndSet(0, RETIRED);
        }
    }

    /**
     * @param newWheel makes a wheel (its thread factory names the threads)
     * @param reaper runs the idle check every {@code idle} while a wheel lives
     */
    public IdleStoppingTimer(Supplier<HashedWheelTimer> newWheel, ScheduledExecutorService reaper, long idle, TimeUnit unit) {
        this.newWheel = newWheel;
        this.reaper = reaper;
        this.idleMillis = Math.max(1, unit.toMillis(idle));
    }

    @Override
    public Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
        while (true) {
            Wheel w = current;
            if (w == null) {
                w = startWheel();
            }
            if (w.enter()) {
                try {
                    w.armed.incrementAndGet();
                    return w.timer.newTimeout(task, delay, unit);
                } finally {
                    w.exit();
                }
            }
            synchronized (lock) { // retired meanwhile: the next round starts a new one
                if (current == w) {
                    current = null;
                }
            }
        }
    }

    private Wheel startWheel() {
        synchronized (lock) {
            if (stopped) {
                throw new IllegalStateException("cannot be started once stopped");
            }
            if (current == null) {
                current = new Wheel(newWheel.get());
                if (reaping == null) {
                    try {
                        reaping = reaper.scheduleWithFixedDelay(this::reap, idleMillis, idleMillis, TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException e) {
                        // the runner is shutting down: the wheel ticks until stop()
                    }
                }
            }
            return current;
        }
    }

    /** Retires the current wheel once it armed nothing since the last check and holds nothing; stops drained wheels. */
    void reap() {
        synchronized (lock) {
            Wheel w = current;
            if (w != null) {
                long armed = w.armed.get();
                boolean quiet = armed == w.armedAtLastReap && w.timer.pendingTimeouts() == 0;
                w.armedAtLastReap = armed;
                if (quiet && w.retire()) {
                    current = null;
                    draining.add(w); // stopped below once empty (a timeout armed just before the retirement runs first)
                }
            }
            draining.removeIf(d -> {
                if (d.timer.pendingTimeouts() == 0) {
                    d.timer.stop();
                    return true;
                }
                return false;
            });
            if (current == null && draining.isEmpty() && reaping != null) {
                reaping.cancel(false);
                reaping = null;
            }
        }
    }

    /** Whether a wheel (and so a ticking thread) is alive. */
    boolean ticking() {
        synchronized (lock) {
            return current != null || !draining.isEmpty();
        }
    }

    @Override
    public Set<Timeout> stop() {
        synchronized (lock) {
            stopped = true;
            Set<Timeout> left = new HashSet<>();
            Wheel w = current;
            current = null;
            if (w != null) {
                w.retire();
                left.addAll(w.timer.stop());
            }
            draining.forEach(d -> left.addAll(d.timer.stop()));
            draining.clear();
            if (reaping != null) {
                reaping.cancel(false);
                reaping = null;
            }
            return left;
        }
    }
}
