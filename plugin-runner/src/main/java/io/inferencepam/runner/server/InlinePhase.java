package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ChainCost;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Phase;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * One phase of one call run on the event loop that read it, instead of being handed to a plugin
 * thread and its reply handed back: for a cheap chain those two thread wake-ups cost more than
 * the plugins themselves.
 *
 * <p>Only when every plugin of the conf's phase declares its hooks non-blocking and cheap
 * ({@link io.inferencepam.runner.spi.Plugin#inlineSafe}), the call's body is small, and the phase's
 * runs on the loop have stayed cheap ({@link ChainCost#inlineNext}); this run's time feeds that
 * estimate, so a phase that gets slower moves back to the plugin threads by itself.
 *
 * <p>As an executor of the chain's steps it runs a step at once while the phase is in a
 * synchronous part on the loop, or on a plugin thread; a step that becomes ready anywhere else (a
 * plugin's stage completed by another thread, or by the loop later) is queued to the plugin
 * threads. So whatever waited once (a verification handed off, a large body) continues on a plugin
 * thread, never back on the loop. The one exception is a {@code fetch} asked from the loop and
 * answered there with a small body ({@link #resume}): APISIX's answers arrive on this loop, and
 * handing the rest of a cheap phase to a plugin thread then, and its reply back, would cost the
 * two wake-ups the phase runs inline to save. The loop's time of the phase is the sum of its
 * parts there, up to its reply being built (not the reply's write), recorded once per run when
 * no fetch's answer can continue there any more; that sum is what {@link ChainCost} judges.
 */
final class InlinePhase implements PluginEntry, Executor {
    /**
     * Larger bodies are handed off, well below the large-body lane's threshold: plugin work grows
     * with the body (pam-auth's model scan), and the loop serves every other connection meanwhile.
     */
    static final int MAX_BODY_BYTES = 16 * 1024;

    private final Thread loop = Thread.currentThread();
    private final PluginPool pool;
    private final ChainCost cost;
    private final LongSupplier clock;
    /** When the current part on the loop began. */
    private volatile long partStart;
    /** In a part on the loop: the chain's steps run at once. */
    private volatile boolean synchronous = true;
    /** The phase's time on the loop so far (its parts there). */
    private volatile long loopNanos;
    /**
     * Fetches asked from the loop whose answers have not come back yet: any of them may continue
     * there, so the phase is measured once the last one has.
     */
    private volatile int unanswered;
    /** The phase's reply is built: what follows (its write, the observers' hand-off) is not the phase's. */
    private volatile boolean answered;
    /** One sample per run of the phase, however many parts and fetches it had. */
    private volatile boolean recorded;

    private InlinePhase(PluginPool pool, ChainCost cost, LongSupplier clock) {
        this.pool = pool;
        this.cost = cost;
        this.clock = clock;
        this.partStart = clock.getAsLong();
    }

    /**
     * This phase's run on the event loop, or null when it must be handed off.
     *
     * @param entry how the call would otherwise reach the plugin threads: only an entry on its
     *              event loop may run the phase there
     * @param pool  the plugin threads the phase continues on once it has waited
     * @param clock {@code System.nanoTime()}, or a test's clock
     */
    static InlinePhase start(PreparedConf conf, Phase phase, Optional<Body> body, PluginEntry entry, PluginPool pool,
                             LongSupplier clock) {
        if (!conf.inlineSafe(phase) || !entry.onEventLoop()
                || (body.isPresent() && body.get().length() > MAX_BODY_BYTES) || !conf.cost(phase).inlineNext()) {
            return null;
        }
        return new InlinePhase(pool, conf.cost(phase), clock);
    }

    /** Already there: the chain starts at once, on this thread. */
    @Override
    public CompletableFuture<Void> enter(ChainCost ignored) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean onEventLoop() {
        return true;
    }

    @Override
    public void execute(Runnable step) {
        if ((synchronous && Thread.currentThread() == loop) || pool.isCurrent()) {
            step.run();
        } else {
            pool.execute(step);
        }
    }

    /**
     * Ends the synchronous part (called by the dispatcher once the chain is built: everything that
     * did not wait has run): later steps go to the plugin threads, and the loop's time is counted,
     * unless a fetch asked from the loop may still continue there ({@link #resume}).
     */
    void finish() {
        endPart();
    }

    /**
     * The phase's reply is built (called by the dispatcher when it was not built by the end of the
     * first part). When that happens in a part on the loop (a fetch's answer continued there), the
     * part ends here: the reply's write and the observers' hand-off that follow in the same task
     * are the connection's cost, which a phase without a fetch is not charged either. Whatever is
     * still asked then no longer continues on the loop.
     */
    void answered() {
        answered = true;
        if (synchronous && Thread.currentThread() == loop) {
            endPart();
        }
    }

    /**
     * Called by a fetch as it asks: true when it is asked from the loop during a part of this phase
     * there, so that its answer may continue on the loop ({@link #resume}); the caller then reports
     * the answer either to {@link #resume} or to {@link #continuedElsewhere}.
     */
    boolean asking() {
        if (synchronous && Thread.currentThread() == loop) {
            unanswered++; // only the loop counts: here, in resume and in continuedElsewhere (answers arrive on the loop)
            return true;
        }
        return false;
    }

    /**
     * Runs {@code continuation} (what the answered fetch completes) as the phase's next part on the
     * loop, when the answer arrived there, its body is small and the phase's reply is not built
     * yet; false when it must continue on a plugin thread instead (then {@link #continuedElsewhere}
     * is due).
     */
    boolean resume(Optional<Body> body, Runnable continuation) {
        if (Thread.currentThread() != loop || answered || (body.isPresent() && body.get().length() > MAX_BODY_BYTES)) {
            return false;
        }
        unanswered--;
        partStart = clock.getAsLong();
        synchronous = true;
        try {
            continuation.run();
        } finally {
            endPart();
        }
        return true;
    }

    /** The fetch's answer continues on a plugin thread (a large body, a failed question): the loop's part ends here. */
    void continuedElsewhere() {
        unanswered--;
        if (!synchronous) { // else (a question refused while asked) the running part records at its end
            recordOnceDone();
        }
    }

    /** Ends the current part on the loop, if one is running. */
    private void endPart() {
        if (!synchronous) {
            return;
        }
        synchronous = false;
        loopNanos += clock.getAsLong() - partStart;
        recordOnceDone();
    }

    /**
     * Records the loop's time of the run once no answer may continue on the loop any more: one
     * sample per run, the sum of its parts. A run with a fetch is thus measured one round trip
     * late; recording its first part at once would make it two samples, the first one too cheap.
     */
    private void recordOnceDone() {
        if ((unanswered <= 0 || answered) && !recorded) {
            recorded = true;
            cost.recordInline(loopNanos);
        }
    }
}
