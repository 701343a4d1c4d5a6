package io.inferencepam.runner.spi;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** What a request-phase plugin decided: go on (maybe with changes), or stop the call for good. */
public sealed interface RequestDecision {

    record Proceed(RequestRewrite rewrite) implements RequestDecision {
    }

    record Halt(Stop stop) implements RequestDecision {
    }

    RequestDecision PROCEED = new Proceed(RequestRewrite.NONE);

    static CompletionStage<RequestDecision> proceed() {
        return CompletableFuture.completedFuture(PROCEED);
    }

    static CompletionStage<RequestDecision> proceed(RequestRewrite rewrite) {
        return CompletableFuture.completedFuture(new Proceed(rewrite));
    }

    static CompletionStage<RequestDecision> stop(Stop stop) {
        return CompletableFuture.completedFuture(new Halt(stop));
    }
}
