package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.CallContext;
import io.netty.util.Timeout;
import io.netty.util.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sees that every call gets exactly one answer in time: its fail-closed answer when its deadline
 * (or a plugin's hold, {@link HeldDeadline}) passes first, or at once when shutdown cuts the calls
 * short.
 */
final class CallDeadlines {
    /** The dispatcher's logger: the log lines read as before the split. */
    private static final Logger LOG = LoggerFactory.getLogger(CallDispatcher.class);

    private final Timer deadlines;
    /** Per call without a reply yet: what answers it at once when shutdown cuts calls short. */
    private final Set<Runnable> inFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    /**
     * @param deadlines timer for the per-call deadline. A hashed wheel (coarse ticks, lock-free
     *                  add and cancel, no wake-up per call) rather than a ScheduledExecutorService:
     *                  every call arms one timer and cancels it microseconds later, and a delay
     *                  queue turns that into a timer-thread wake-up (or a huge queue) per call.
     */
    CallDeadlines(Timer deadlines) {
        this.deadlines = deadlines;
    }

    /** Why a call was answered before its plugins finished. */
    enum Cut {
        DEADLINE("deadline"),
        SHUTDOWN("shutdown");

        final String label;

        Cut(String label) {
            this.label = label;
        }

        String because(Duration deadline) {
            return this == DEADLINE ? "missed its " + deadline.toMillis() + " ms deadline" : "was cut short by shutdown";
        }
    }

    /**
     * Completes with {@code onCut} if {@code work} is not done in time, or when shutdown cuts the
     * call short ({@link #cutShort()}); exactly one completion wins.
     */
    <T> CompletableFuture<T> withDeadline(CompletableFuture<T> work, HeldDeadline hold,
                                                  java.util.function.Function<Cut, T> onCut) {
        if (work.isDone()) {
            // Answered already (a phase that ran inline on the event loop): no deadline can pass and
            // no shutdown can cut it any more, so neither a timer nor an in-flight entry is needed;
            // arming and cancelling them was most of the deadline's cost per call (issue 15).
            return work.handle((frame, err) -> err == null ? frame : unbuilt(err, onCut));
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable shutdown = () -> {
            if (!result.isDone()) {
                result.complete(onCut.apply(Cut.SHUTDOWN));
            }
        };
        inFlight.add(shutdown);
        result.whenComplete((r, e) -> inFlight.remove(shutdown));
        java.util.concurrent.atomic.AtomicReference<Timeout> timer = new java.util.concurrent.atomic.AtomicReference<>();
        arm(timer, result, hold, onCut);
        work.whenComplete((frame, err) -> {
            Timeout t = timer.get();
            if (t != null) {
                t.cancel();
            }
            result.complete(err == null ? frame : unbuilt(err, onCut));
        });
        if (closing) {
            shutdown.run(); // arrived after shutdown began to cut calls short: answered at once
        }
        return result;
    }

    /**
     * Building the reply failed (a bug, memory): still one safe answer. A reply too large for one
     * frame does not come here: fitted() answers it, with its own count.
     */
    private static <T> T unbuilt(Throwable err, java.util.function.Function<Cut, T> onCut) {
        LOG.warn("reply could not be built: {}", err.getClass().getSimpleName());
        return onCut.apply(Cut.DEADLINE);
    }

    /**
     * Arms the deadline timer for what is left of the call's deadline. When it fires, a call a
     * plugin has held meanwhile gets the timer again for the rest of its hold; any other is cut.
     */
    private <T> void arm(java.util.concurrent.atomic.AtomicReference<Timeout> timer, CompletableFuture<T> result,
                         HeldDeadline hold, java.util.function.Function<Cut, T> onCut) {
        timer.set(deadlines.newTimeout(t -> {
            if (result.isDone()) {
                return;
            }
            if (hold.remainingNanos() > 0) {
                arm(timer, result, hold, onCut);
            } else {
                result.complete(onCut.apply(Cut.DEADLINE));
            }
        }, Math.max(0, hold.remainingNanos()), TimeUnit.NANOSECONDS));
    }

    /**
     * Shutdown: every call still running is answered now with its fail-closed reply (Stop 503 in
     * the request phase, the safe error response in the response phase), and so is every call
     * that arrives from now on; their remaining plugins are not run. Replies go back to the
     * connections as usual: the caller closes them once answered.
     */
    void cutShort() {
        closing = true;
        for (Runnable call : inFlight) {
            call.run();
        }
    }

    /**
     * For an RPC that is not a call (a PrepareConf still being prepared): runs {@code onCut} if
     * shutdown cuts calls short before {@code work} completes, at once if it already has. Left
     * unanswered, its connection would be closed under it after the answer grace, and for a
     * post-resp key APISIX then sends the original body (P11).
     */
    void onCutShort(CompletableFuture<?> work, Runnable onCut) {
        inFlight.add(onCut);
        work.whenComplete((r, e) -> inFlight.remove(onCut));
        if (closing) {
            onCut.run();
        }
    }

    /** Calls (and RPCs) without a reply yet. */
    int inFlight() {
        return inFlight.size();
    }

    /**
     * Once the deadline has passed, the answer is (or is about to be) the deadline's 503: the
     * remaining plugins are not run, so an overloaded runner does not keep doing work nobody
     * waits for; likewise once shutdown has cut the calls short. The chain fails, never completes
     * early: a shortened chain must not become a pass.
     */
    boolean passed(CallContext ctx) {
        return closing || (ctx.hold() instanceof HeldDeadline h ? h.remainingNanos() < 0 : Instant.now().isAfter(ctx.deadline()));
    }

    /** How a chain fails once {@link #passed}: stackless, it is the normal end of a late call. */
    static final class DeadlinePassed extends RuntimeException {
        static final DeadlinePassed INSTANCE = new DeadlinePassed();

        private DeadlinePassed() {
            super("deadline passed", null, false, false);
        }
    }
}
