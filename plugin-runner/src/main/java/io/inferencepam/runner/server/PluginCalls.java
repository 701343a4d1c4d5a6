package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls plugin code so that whatever goes wrong in it (a throw, no stage, a null result) is a
 * failed stage that names the plugin, and logs such a failure without its message.
 */
final class PluginCalls {
    /** The dispatcher's logger: the log lines read as before the split. */
    private static final Logger LOG = LoggerFactory.getLogger(CallDispatcher.class);

    /** Calls plugin code; a throw becomes a failed stage so the chain fails closed. */
    static <T> CompletableFuture<T> invoke(String plugin, PluginCall<T> call) {
        try {
            CompletionStage<T> stage = call.run();
            if (stage == null) {
                return CompletableFuture.failedFuture(new IllegalStateException("plugin " + plugin + " returned no result"));
            }
            return stage.toCompletableFuture().thenApply(v -> {
                if (v == null) {
                    throw new IllegalStateException("plugin " + plugin + " completed with null");
                }
                return v;
            });
        } catch (Throwable t) {
            return CompletableFuture.failedFuture(new PluginFailure(plugin, t));
        }
    }

    @FunctionalInterface
    interface PluginCall<T> {
        CompletionStage<T> run();
    }

    static void logFailure(PreparedConf conf, String phase, Throwable err) {
        Throwable cause = err;
        while ((cause instanceof java.util.concurrent.CompletionException || cause instanceof PluginFailure)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String plugin = findPlugin(err);
        StackTraceElement[] st = cause.getStackTrace();
        // Class and location only: exception messages can quote payloads or secrets.
        LOG.warn("{} phase failed closed on {} (plugin {}): {} at {}", phase, conf.identity().key(), plugin,
                cause.getClass().getName(), st.length > 0 ? st[0] : "?");
    }

    private static String findPlugin(Throwable err) {
        for (Throwable t = err; t != null; t = t.getCause()) {
            if (t instanceof PluginFailure pf) {
                return pf.plugin;
            }
        }
        return "?";
    }

    /** Marks which plugin threw. */
    static final class PluginFailure extends RuntimeException {
        final String plugin;

        PluginFailure(String plugin, Throwable cause) {
            super(null, cause, false, false);
            this.plugin = plugin;
        }
    }

    private PluginCalls() {
    }
}
