package io.inferencepam.runner.spi;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

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
 * @param extraInfo what the call can still ask APISIX ({@link #fetch})
 */
public record CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline, CallHold hold,
                          ExtraInfo extraInfo) {

    /** A context whose deadline cannot be stretched. */
    public CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline) {
        this(call, exchange, conf, deadline, CallHold.fixed(deadline));
    }

    /** A context that cannot ask APISIX anything more ({@link ExtraInfo#NONE}). */
    public CallContext(Attributes call, Optional<Attributes> exchange, ConfIdentity conf, Instant deadline, CallHold hold) {
        this(call, exchange, conf, deadline, hold, ExtraInfo.NONE);
    }

    /**
     * {@code request} with {@code needs} present: the vars it lacks and its body, if it has none,
     * are asked of APISIX now, in one batch, unless this call already has their answers. For
     * what a plugin needs only once it has decided so (pam-auth: the body, once the token passed);
     * what it always needs belongs in {@link Plugin#requirements}, fetched before the chain.
     * Completes on a plugin thread, or on the event loop for a phase running there whose answer
     * arrives there with a small body ({@link Plugin#inlineSafe}); fails if the call was answered
     * meanwhile (fail closed).
     */
    public CompletionStage<HttpRequest> fetch(HttpRequest request, Requirements needs) {
        java.util.Set<String> missing = new java.util.LinkedHashSet<>();
        for (String v : needs.vars()) {
            if (!request.vars().isPresent(v)) {
                missing.add(v);
            }
        }
        boolean body = needs.requestBody() && request.body().isEmpty();
        if (missing.isEmpty() && !body) {
            return java.util.concurrent.CompletableFuture.completedFuture(request);
        }
        return extraInfo.fetch(missing, body).thenApply(a -> {
            java.util.Map<String, String> vars = new java.util.HashMap<>(request.vars().asMap());
            vars.putAll(a.vars());
            return new HttpRequest(request.rpcId(), request.method(), request.path(), request.args(), request.headers(),
                    request.sourceIp(), Vars.of(vars), request.body().isPresent() ? request.body() : a.body());
        });
    }

    /**
     * What {@code request} and the call already know of {@code var}, without a question: its value,
     * known missing, or empty when only asking APISIX ({@link #fetch}) would tell (see
     * {@link ExtraInfo#known}).
     */
    public Optional<Optional<String>> known(HttpRequest request, String var) {
        Optional<String> v = request.var(var);
        return v.isPresent() ? Optional.of(v) : extraInfo.known(var);
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
