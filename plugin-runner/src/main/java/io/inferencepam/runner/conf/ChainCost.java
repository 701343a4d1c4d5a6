package io.inferencepam.runner.conf;

import java.util.concurrent.TimeUnit;

/**
 * How long one phase of a conf holds a thread, smoothed over its recent calls. The runtime
 * batches cheap calls onto one plugin thread; calls of a phase that has been slow are handed over
 * one by one instead, so that they run side by side rather than wait for each other in a batch.
 * A phase whose plugins are all inline-safe runs on the event loop while its time there stays
 * below {@link #INLINE_CEILING_NANOS}.
 */
public final class ChainCost {
    /** Above this a phase counts as slow: the cost of a thread wake-up is small next to it. */
    public static final long SLOW_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    /**
     * Above this a phase stops running on the event loop: a call of a cheap chain there costs a few
     * microseconds, the hand-off it saves about as much again; a slower phase would hold up the
     * other connections of its loop for longer than the hand-off costs.
     */
    public static final long INLINE_CEILING_NANOS = TimeUnit.MICROSECONDS.toNanos(10);
    /** While a phase is off the loop, one call in this many runs there to see whether it got cheap again. */
    static final int PROBE_EVERY = 64;
    /** Probes that find the phase still slow come ever rarer, up to one in this many calls. */
    static final int PROBE_EVERY_MAX = 4096;

    // Updated without synchronisation by whichever thread ran the call: a lost update only makes
    // the estimate a little older, or a probe come a little earlier or later.
    private volatile long smoothedNanos;
    /** The time of the phase's runs on the event loop only. */
    private volatile long inlineNanos;
    private volatile int sinceProbe;
    private volatile int probeEvery = PROBE_EVERY;

    /** Folds one call's time into the estimate (weight 1/8). */
    public void record(long nanos) {
        long s = smoothedNanos;
        smoothedNanos = s + ((nanos - s) >> 3);
    }

    public boolean slow() {
        return smoothedNanos > SLOW_NANOS;
    }

    /**
     * Whether the next call of this phase (whose plugins are all inline-safe) may run on the event
     * loop: while its runs there stay cheap, and now and then after they did not (a probe).
     */
    public boolean inlineNext() {
        if (inlineNanos <= INLINE_CEILING_NANOS) {
            return true;
        }
        int n = sinceProbe + 1;
        if (n < probeEvery) {
            sinceProbe = n;
            return false;
        }
        sinceProbe = 0;
        return true;
    }

    /** Folds the time of one run on the event loop into both estimates. */
    public void recordInline(long nanos) {
        record(nanos);
        long s = inlineNanos;
        inlineNanos = s + ((nanos - s) >> 3);
        if (s > INLINE_CEILING_NANOS) { // a probe: back off while the phase stays slow
            probeEvery = nanos > INLINE_CEILING_NANOS ? Math.min(probeEvery * 2, PROBE_EVERY_MAX) : PROBE_EVERY;
        }
    }
}
