package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.CallHold;
import java.time.Duration;
import java.time.Instant;
import java.util.function.LongSupplier;

/**
 * A call's deadline in {@code System.nanoTime()} terms: {@code deadline} after its start, or
 * later, up to {@code maxHold} after its start, once a plugin holds the call. It only grows.
 */
final class HeldDeadline implements CallHold {
    private final long capNanos;
    private final java.util.concurrent.atomic.AtomicLong endNanos;
    private final LongSupplier clock;

    HeldDeadline(long startNanos, Duration deadline, Duration maxHold, LongSupplier clock) {
        this.endNanos = new java.util.concurrent.atomic.AtomicLong(startNanos + deadline.toNanos());
        this.capNanos = startNanos + maxHold.toNanos();
        this.clock = clock;
    }

    @Override
    public Instant holdUntil(Instant until) {
        long asked = clock.getAsLong() + Duration.between(Instant.now(), until).toNanos();
        long target = Math.min(asked, capNanos);
        endNanos.accumulateAndGet(target, Math::max);
        return deadline();
    }

    @Override
    public Instant deadline() {
        return Instant.now().plusNanos(endNanos.get() - clock.getAsLong());
    }

    long remainingNanos() {
        return endNanos.get() - clock.getAsLong();
    }
}
