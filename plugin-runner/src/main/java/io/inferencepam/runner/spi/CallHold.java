package io.inferencepam.runner.spi;

import java.time.Instant;

/**
 * The deadline of one call, which a request-phase plugin may stretch to hold the call open (a
 * call waiting for a human's approval). Stretching is capped by the runtime's maximum hold
 * ({@code PAM_MAX_HOLD_MS}, kept under APISIX's fixed 60 s ext-plugin timeout); calls that never
 * ask keep the ordinary per-call deadline. Holding costs no thread: the plugin returns a stage
 * that completes later.
 */
public interface CallHold {

    /**
     * Asks for the call to stay open until {@code until}. Returns the deadline now in force, which
     * may be earlier than asked (the runtime's cap) but never earlier than before.
     */
    Instant holdUntil(Instant until);

    /** The deadline now in force. */
    Instant deadline();

    /** A deadline that cannot be stretched (response phase; tools and tests). */
    static CallHold fixed(Instant deadline) {
        return new CallHold() {
            @Override
            public Instant holdUntil(Instant until) {
                return deadline;
            }

            @Override
            public Instant deadline() {
                return deadline;
            }
        };
    }
}
