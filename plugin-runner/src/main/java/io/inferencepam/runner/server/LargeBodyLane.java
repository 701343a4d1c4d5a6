package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.Body;
import java.util.Optional;

/**
 * Where the calls whose body is larger than a threshold run: a plugin pool of their own, with
 * fewer threads than the regular one. Plugin work grows with the body (pam-auth's scan for the
 * model, pam-mask on a long response: milliseconds to seconds of CPU for a few MiB), so without a
 * lane a handful of large bodies hold every plugin thread and each cheap call waits behind one
 * of them; attacker-shaped bodies then delay everyone. With it, cheap calls never queue behind
 * large ones, and large bodies get at most the lane's threads' worth of CPU; they wait for each
 * other (and fail closed when the lane's queue is full or the deadline passes).
 * Measured with {@code ExpensiveBodyBench} (docs/performance.md).
 */
public final class LargeBodyLane {
    private final PluginPool pool;
    private final int thresholdBytes;

    /**
     * @param pool           the lane's threads
     * @param thresholdBytes bodies longer than this run on the lane
     */
    public LargeBodyLane(PluginPool pool, int thresholdBytes) {
        this.pool = pool;
        this.thresholdBytes = thresholdBytes;
    }

    /** The lane for a call with this body, else {@code regular}. */
    PluginPool poolFor(Optional<Body> body, PluginPool regular) {
        return body.isPresent() && body.get().length() > thresholdBytes ? pool : regular;
    }
}
