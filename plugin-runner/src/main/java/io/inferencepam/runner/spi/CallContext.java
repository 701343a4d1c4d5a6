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
 * @param deadline  when the runtime will answer Stop 503 if the chain has not finished
 */
public record CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline) {
}
