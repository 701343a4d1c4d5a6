package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ChainCost;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * Moves the calls that one event loop decoded in one pass over its ready connections to the plugin
 * pool as one batch, instead of one queue hand-over per call.
 *
 * <p>Why: under load an event loop reads a dozen calls per pass. Handed over one by one, each may
 * wake a parked plugin thread (a futex wake-up and a context switch, several microseconds on a
 * small VM, more than a cheap plugin chain costs). The batch is handed over once, after the pass
 * (a task queued on the loop runs right after its I/O), and its calls run one after another on
 * the thread that picked it up; a slow call brings another thread in (see
 * {@link PluginPool#executeAll}). Plugins still never run on the event loop.
 *
 * <p>Confined to its event loop, like the sessions that use it.
 */
final class LoopHandOff implements PluginEntry {
    private final EventExecutor loop;
    private final PluginPool pool;
    /** This pass's calls: the tasks that start them, and their futures, to fail them if refused. */
    private List<Runnable> pending = new ArrayList<>();
    private List<CompletableFuture<Void>> failures = new ArrayList<>();

    LoopHandOff(EventExecutor loop, PluginPool pool) {
        this.loop = loop;
        this.pool = pool;
    }

    @Override
    public CompletableFuture<Void> enter(ChainCost cost) {
        if (!loop.inEventLoop() || cost.slow()) {
            return pool.enter(cost); // a slow phase's calls run side by side, not one after another
        }
        CompletableFuture<Void> entered = new CompletableFuture<>();
        pending.add(PluginPool.timed(entered, cost));
        failures.add(entered);
        if (pending.size() == 1) {
            try {
                loop.execute(this::handOver);
            } catch (RejectedExecutionException e) {
                fail(failures, e); // the loop is shutting down
                pending = new ArrayList<>();
                failures = new ArrayList<>();
            }
        }
        return entered;
    }

    @Override
    public boolean onEventLoop() {
        return loop.inEventLoop();
    }

    private void handOver() {
        List<Runnable> tasks = pending;
        List<CompletableFuture<Void>> entered = failures;
        pending = new ArrayList<>();
        failures = new ArrayList<>();
        int taken = pool.executeAll(tasks);
        if (taken < tasks.size()) {
            // the calls that did not fit fail closed; their dependents are runtime code only
            fail(entered.subList(taken, entered.size()), new RejectedExecutionException("plugin queue full"));
        }
    }

    private static void fail(List<CompletableFuture<Void>> batch, RejectedExecutionException e) {
        for (CompletableFuture<Void> entered : batch) {
            entered.completeExceptionally(e);
        }
    }
}
