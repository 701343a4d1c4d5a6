package io.inferencepam.runner.conf;

import java.util.concurrent.TimeUnit;

/**
 * How long one phase of a conf holds a plugin thread, smoothed over its recent calls. The runtime
 * batches cheap calls onto one plugin thread; calls of a phase that has been slow are handed over
 * one by one instead, so that they run side by side rather than wait for each other in a batch.
 */
public final class ChainCost {
    /** Above this a phase counts as slow: the cost of a thread wake-up is small next to it. */
    public static final long SLOW_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    // Updated without synchronisation by whichever thread ran the call: a lost update only makes
    // the estimate a little older.
    private volatile long smoothedNanos;

    /** Folds one call's time into the estimate (weight 1/8). */
    public void record(long nanos) {
        long s = smoothedNanos;
        smoothedNanos = s + ((nanos - s) >> 3);
    }

    public boolean slow() {
        return smoothedNanos > SLOW_NANOS;
    }
}
