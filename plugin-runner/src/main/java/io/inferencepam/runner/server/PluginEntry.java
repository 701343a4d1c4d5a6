package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ChainCost;
import java.util.concurrent.CompletableFuture;

/** How a call gets from the event loop onto a plugin thread. */
@FunctionalInterface
interface PluginEntry {
    /**
     * A future completed on a plugin thread (so what depends on it runs there), or completed
     * exceptionally if the plugin threads refuse the work (the call then fails closed).
     *
     * @param cost the phase's cost estimate: read to decide how to hand the call over, and fed
     *             with the time the call then holds the plugin thread
     */
    CompletableFuture<Void> enter(ChainCost cost);

    /** True when called on the event loop that read the call, where an inline-safe phase may run ({@link InlinePhase}). */
    default boolean onEventLoop() {
        return false;
    }
}
