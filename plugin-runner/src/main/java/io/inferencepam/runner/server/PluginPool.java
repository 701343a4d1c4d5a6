package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ChainCost;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import io.netty.util.Timeout;
import io.netty.util.Timer;

/**
 * The threads that run plugin code: a fixed pool with a bounded queue (full → the call fails
 * closed with 503), whose threads know they belong to it.
 *
 * <p>Knowing its own threads lets a call stay on the thread it is on: once a call has left the
 * event loop, the next plugin of its chain, and the next call of a batch, run right there instead
 * of being queued again. On a small machine every hand-over between threads is a wake-up and a
 * context switch, and those, not the plugin work, dominate the cost of a cheap call.
 */
public final class PluginPool implements Executor, PluginEntry {
    /** A task in a batch that runs longer than this brings another thread in for the rest of the batch. */
    static final long SHARE_AFTER_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    /** How long a task may hold up the rest of its batch before another thread takes over the rest. */
    static final long WATCHDOG_MILLIS = 10;

    private final ThreadPoolExecutor pool;
    private final Timer watchdogs;
    private final int threads;
    private final int capacity;
    /** Calls waiting in batches: bounded like the queue, so a batch cannot smuggle in more work than it. */
    private final AtomicInteger batchedCalls = new AtomicInteger();
    private final Executor inline = this::runHereOrHandOver;

    /** @param watchdogs a coarse timer (the per-call deadline wheel): lock-free to arm and cancel */
    public PluginPool(String name, int threads, int queue, Timer watchdogs) {
        this.threads = threads;
        this.capacity = queue;
        this.watchdogs = watchdogs;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue),
                r -> new Worker(this, r, name + "-" + n.incrementAndGet()), new ThreadPoolExecutor.AbortPolicy());
        pool.allowCoreThreadTimeOut(true);
    }

    @Override
    public void execute(Runnable task) {
        pool.execute(task);
    }

    /** Completes on one of this pool's threads, or fails if the pool refuses the work. */
    @Override
    public CompletableFuture<Void> enter(ChainCost cost) {
        if (isCurrent()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> entered = new CompletableFuture<>();
        try {
            pool.execute(timed(entered, cost));
        } catch (RejectedExecutionException e) {
            entered.completeExceptionally(e);
        }
        return entered;
    }

    /**
     * A task that completes {@code entered} (running, on this thread, whatever of the call's chain
     * does not wait for I/O) and feeds how long that took into {@code cost}.
     */
    static Runnable timed(CompletableFuture<Void> entered, ChainCost cost) {
        return () -> {
            long start = System.nanoTime();
            entered.complete(null);
            cost.record(System.nanoTime() - start);
        };
    }

    /** An executor that runs a task at once when called on one of this pool's threads, else queues it here. */
    Executor inline() {
        return inline;
    }

    /**
     * Runs {@code tasks} in order on one thread of this pool, so a batch costs one hand-over.
     * More threads join when a batch turns out to be slow, so that cheap calls do not wait behind
     * a slow one while threads are idle: right after a task that ran longer than
     * {@link #SHARE_AFTER_NANOS}, and, for a task that is still running (a plugin doing heavy work,
     * or one that wrongly blocks), when the watchdog fires after {@link #WATCHDOG_MILLIS}.
     *
     * <p>As many of the tasks are taken as the queue's bound still allows, counting the calls
     * already waiting in batches: a batch larger than the room left is cut, not refused whole, so
     * the calls that fit still run and only the rest are refused (fail closed).
     *
     * @return how many of the tasks, from the first, were taken (0 when the queue is full)
     */
    int executeAll(List<? extends Runnable> tasks) {
        int taken;
        while (true) {
            int waiting = batchedCalls.get();
            taken = Math.min(tasks.size(), capacity - waiting);
            if (taken <= 0) {
                return 0;
            }
            if (batchedCalls.compareAndSet(waiting, waiting + taken)) {
                break;
            }
        }
        try {
            pool.execute(new Batch(taken == tasks.size() ? tasks : tasks.subList(0, taken)));
            return taken;
        } catch (RejectedExecutionException e) {
            batchedCalls.addAndGet(-taken);
            return 0;
        }
    }

    boolean isCurrent() {
        return Thread.currentThread() instanceof Worker w && w.owner == this;
    }

    /**
     * On one of this pool's threads, with no later call of a batch waiting for this thread: work
     * that is not on any reply's path (outcome observers) may run here now without delaying one.
     */
    boolean isCurrentAndNoBatchWaiting() {
        return Thread.currentThread() instanceof Worker w && w.owner == this && !w.batchWaiting;
    }

    /** Tasks and batched calls waiting for a plugin thread. */
    int queueDepth() {
        return pool.getQueue().size() + batchedCalls.get();
    }

    void shutdownNow() {
        pool.shutdownNow();
    }

    private void runHereOrHandOver(Runnable task) {
        if (isCurrent()) {
            task.run();
        } else {
            pool.execute(task);
        }
    }

    /** Shared by every thread working on it: each takes the next task by index. */
    private final class Batch implements Runnable {
        private final List<? extends Runnable> tasks;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger workers = new AtomicInteger(1);

        Batch(List<? extends Runnable> tasks) {
            this.tasks = tasks;
        }

        @Override
        public void run() {
            Timeout watchdog = next.get() < tasks.size() - 1
                    ? watchdogs.newTimeout(t -> share(), WATCHDOG_MILLIS, TimeUnit.MILLISECONDS) : null;
            Worker self = Thread.currentThread() instanceof Worker w ? w : null;
            try {
                int i;
                while ((i = next.getAndIncrement()) < tasks.size()) {
                    batchedCalls.decrementAndGet();
                    long start = System.nanoTime();
                    if (self != null) {
                        self.batchWaiting = next.get() < tasks.size();
                    }
                    try {
                        tasks.get(i).run();
                    } finally {
                        if (self != null) {
                            self.batchWaiting = false;
                        }
                    }
                    if (System.nanoTime() - start > SHARE_AFTER_NANOS) {
                        share();
                    }
                }
            } finally {
                if (watchdog != null) {
                    watchdog.cancel();
                }
            }
        }

        /** Brings one more thread in if tasks remain and not every thread is on this batch yet. */
        private void share() {
            if (next.get() < tasks.size() && workers.getAndIncrement() < threads) {
                try {
                    pool.execute(this);
                } catch (RejectedExecutionException e) {
                    workers.decrementAndGet(); // the queue is full: the threads already on it carry on
                }
            }
        }
    }

    private static final class Worker extends Thread {
        final PluginPool owner;
        /** While a task of a batch runs here and later calls of that batch wait behind it. */
        boolean batchWaiting;

        Worker(PluginPool owner, Runnable r, String name) {
            super(r, name);
            this.owner = owner;
            setDaemon(true);
        }
    }
}
