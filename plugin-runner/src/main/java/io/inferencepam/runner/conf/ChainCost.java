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
     * Above this a phase stops running on the event loop. Running there always saves CPU (the
     * hand-off's two thread wake-ups); the ceiling bounds how long one call may hold up the other
     * connections of its loop, and catches a plugin that declared itself cheap wrongly. Half of
     * {@link #SLOW_NANOS}: a cached-token pam-auth call (a hash, a lookup, a scan of a small body)
     * stays below it on a busy host.
     */
    public static final long INLINE_CEILING_NANOS = TimeUnit.MICROSECONDS.toNanos(25);
    /**
     * One run on the loop counts at most this much: on a busy host the loop thread is now and then
     * descheduled in the middle of a cheap run, which then looks milliseconds long, and one such
     * run would otherwise keep the phase off the loop for thousands of calls. A phase that is slow
     * on every call still crosses the ceiling within three calls.
     */
    static final long INLINE_SAMPLE_CAP_NANOS = 4 * INLINE_CEILING_NANOS;
    /** Fixed point for {@link #stallShare}: this is a share of 1. */
    static final int SHARE_ONE = 1 << 16;
    /**
     * A run on the loop longer than this is a stall: a loop thread descheduled on a busy host now
     * and then, or a plugin that blocks although it declared otherwise. The capped average above
     * cannot tell them apart, and would keep a plugin that blocks on one call in six on the loop
     * however long it blocks; so the share of stalls is kept too, over about the last 256 runs.
     */
    static final long INLINE_STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * Above this share of stalls (1 in 50 runs) the phase leaves the loop. A descheduled loop thread
     * stalls far fewer of a few-µs phase's runs than that even at a load average of 20 on two cores.
     */
    static final int MAX_STALL_SHARE = SHARE_ONE / 50;
    /** While a phase is off the loop, one call in this many runs there to see whether it got cheap again. */
    static final int PROBE_EVERY = 64;
    /** Probes that find the phase still slow come ever rarer, up to one in this many calls. */
    static final int PROBE_EVERY_MAX = 4096;

    // Updated without synchronisation by whichever thread ran the call: a lost update only makes
    // the estimate a little older, or a probe come a little earlier or later.
    private volatile long smoothedNanos;
    /** The time of the phase's runs on the event loop only. */
    private volatile long inlineNanos;
    /** Share of the phase's runs on the loop that stalled ({@link #SHARE_ONE} = all), weight 1/256. */
    private volatile int stallShare;
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
        if (inlineNanos <= INLINE_CEILING_NANOS && stallShare <= MAX_STALL_SHARE) {
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
        int share = stallShare;
        boolean wasOff = s > INLINE_CEILING_NANOS || share > MAX_STALL_SHARE;
        inlineNanos = s + ((Math.min(nanos, INLINE_SAMPLE_CAP_NANOS) - s) >> 3);
        stallShare = share + (((nanos > INLINE_STALL_NANOS ? SHARE_ONE : 0) - share) >> 8);
        if (wasOff) { // a probe: back off while the phase stays slow
            probeEvery = nanos > INLINE_CEILING_NANOS ? Math.min(probeEvery * 2, PROBE_EVERY_MAX) : PROBE_EVERY;
        }
    }
}
