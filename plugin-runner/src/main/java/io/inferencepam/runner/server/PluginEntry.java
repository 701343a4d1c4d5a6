package io.inferencepam.runner.server;

import java.util.concurrent.CompletableFuture;

/** How a call gets from the event loop onto a plugin thread. */
@FunctionalInterface
interface PluginEntry {
    /**
     * A future completed on a plugin thread (so what depends on it runs there), or completed
     * exceptionally if the plugin threads refuse the work (the call then fails closed).
     */
    CompletableFuture<Void> enter();
}
