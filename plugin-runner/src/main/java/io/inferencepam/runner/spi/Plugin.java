package io.inferencepam.runner.spi;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One plugin bound to one validated conf (created once per conf token, then shared by every call
 * with that token, concurrently: implementations must be thread-safe and should be immutable).
 *
 * <p>Methods are called on the runtime's plugin executor; {@link #onRequest}, {@link #beforeUpstream}
 * and {@link #onResponse} may run on the Netty event loop that read the call when the plugin
 * declares them {@link #inlineSafe}. They must not block: blocking I/O goes to
 * {@link PluginEnvironment#blockingExecutor()}. A thrown exception
 * or a failed stage makes the runtime answer a generic 503 (request phase) or a safe error
 * response (response phase): fail closed.
 */
public interface Plugin {

    /** What this plugin needs fetched from APISIX in {@code phase}. */
    default Requirements requirements(Phase phase) {
        return Requirements.NONE;
    }

    /**
     * What this plugin's first call in {@code phase} would otherwise wait for, once per conf or per
     * runner (pam-auth: its issuer's keys), started by {@link PluginFactory#create} or here. The
     * runtime answers PrepareConf only once every plugin's warm-up has completed, or failed, or the
     * PrepareConf deadline has come, so the route's first call does not spend its own deadline on
     * it. Its outcome never refuses the conf: a failed or unfinished warm-up leaves the call to do
     * what it would have done without it (so a dependency that comes back later still serves).
     * Must not block: it may be called on the event loop (once per PrepareConf), so it only starts
     * the work and returns its stage.
     */
    default CompletionStage<?> warmUp(Phase phase) {
        return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    /** True if this plugin uses {@link CallContext#exchange()}; the runtime then fetches {@code request_id}. */
    default boolean correlatesPhases() {
        return false;
    }

    /**
     * For a plugin that {@link #correlatesPhases()}: whether this request-phase call needs the
     * exchange, decided from the call frame alone, before anything is asked of APISIX. Override it
     * to spare APISIX the {@code request_id} round trip on calls that have nothing to hand to the
     * response phase; in the response phase {@code request_id} is always asked. When another
     * plugin of the conf correlates every call, this is not consulted. Must be cheap and pure.
     */
    default boolean correlatesCall(String method, String path) {
        return correlatesPhases();
    }

    /**
     * True if this plugin's hooks of {@code phase} ({@link #onRequest} and {@link #beforeUpstream},
     * or {@link #onResponse}) are non-blocking and cheap, so the runtime may run them on the event
     * loop that read the call instead of handing the call to a plugin thread and back (two thread
     * wake-ups, the larger part of a cheap call's cost). The runtime does so only when every plugin
     * of the conf's phase declares it, and stops by itself when the phase turns out slow.
     *
     * <p>The contract, for every call: the hook never blocks (no lock held by I/O, no
     * {@code join}/{@code get}, no sleep), and whatever may be expensive (a signature check on a
     * token-cache miss, a JWKS fetch, Redis, a scan that grows with something other than a small
     * body) it hands to {@link PluginEnvironment#pluginExecutor()} or
     * {@link PluginEnvironment#blockingExecutor()} itself and returns an incomplete stage: the
     * chain then continues on a plugin thread. The contract covers what runs after a
     * {@link CallContext#fetch} too: a fetch asked on the loop whose answer arrives there with a
     * small body continues on the loop (a large body, or an answer read elsewhere, continues on a
     * plugin thread), so the code after it must be just as cheap and non-blocking. Outcome
     * observers never run on the event loop. Default: false.
     */
    default boolean inlineSafe(Phase phase) {
        return false;
    }

    default CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
        return RequestDecision.proceed();
    }

    default CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
        return ResponseChange.unchanged();
    }

    /**
     * Called when the request phase has decided to let the call through (pass or rewrite), before
     * the reply is sent and so before APISIX calls the upstream, for every plugin of the conf that
     * overrides it, in conf order. {@code pending} is what APISIX will be told; a Stop returned
     * here replaces it (the upstream is not called; the Stop is final, later plugins are not
     * asked). For what must exist before the upstream is called, whatever happens to the runner
     * afterwards (pam-record's admitted entry). Runs on the plugin executor after every
     * {@link #onRequest}, so it sees what all of them learned; it must not block, and a throw
     * fails the call closed (503).
     */
    default Optional<Stop> beforeUpstream(RequestOutcome pending, CallContext context) {
        return Optional.empty();
    }

    /**
     * Observes the final outcome of the request phase. Called once per call for <em>every</em>
     * plugin of the conf, in conf order, whether or not its {@link #onRequest} ran (a Stop by an
     * earlier plugin skips the later ones), after the reply to APISIX is decided. It cannot change
     * that reply: a Stop stays final. Runs on the plugin executor; it must not block, and what it
     * throws is logged (class only) and counted, never sent anywhere. Same {@code context} as the
     * chain's, so {@link CallContext#call()} holds what the plugins put there.
     */
    default void onRequestOutcome(RequestOutcome outcome, CallContext context) {
    }

    /** As {@link #onRequestOutcome}, for the response phase: sees what the client is sent. */
    default void onResponseOutcome(ResponseOutcome outcome, CallContext context) {
    }
}
