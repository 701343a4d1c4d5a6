package io.inferencepam.runner.spi;

import java.time.Instant;
import java.util.Optional;

/**
 * What the plugins of one RPC share.
 *
 * @param call      attributes of this RPC, shared by the plugins of this phase
 * @param exchange  attributes shared by the request and response phases of the same HTTP call,
 *                  correlated by nginx {@code request_id}; empty when the conf did not declare
 *                  {@link Plugin#correlatesPhases()} or APISIX sent no {@code request_id}
 * @param conf      identity of the route conf being served
 * @param deadline  when the runtime will answer Stop 503 if the chain has not finished, unless a
 *                  plugin holds the call ({@link #holdUntil})
 * @param hold      the call's stretchable deadline (fixed outside the request phase)
 */
public record CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline, CallHold hold) {

    /** A context whose deadline cannot be stretched. */
    public CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline) {
        this(call, exchange, conf, deadline, CallHold.fixed(deadline));
    }

    /**
     * Holds the call open until {@code until} at most (request phase only; capped by the runtime's
     * maximum hold). Returns the deadline now in force.
     */
    public Instant holdUntil(Instant until) {
        return hold.holdUntil(until);
    }

    /** The deadline now in force: {@link #deadline()}, or later if a plugin holds the call. */
    public Instant currentDeadline() {
        return hold.deadline();
    }
}
