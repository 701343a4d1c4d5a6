package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Plugin;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Tells the plugins of a conf how a phase of a call ended (pam-record), off the reply's path and never on an event loop. */
final class OutcomeObservers {
    /** The dispatcher's logger: the log lines read as before the split. */
    private static final Logger LOG = LoggerFactory.getLogger(CallDispatcher.class);

    private final Executor observerFallback;
    private final RunnerMetrics metrics;

    /** @param observerFallback where observers run when the plugin executor is full (the blocking executor) */
    OutcomeObservers(Executor observerFallback, RunnerMetrics metrics) {
        this.observerFallback = observerFallback;
        this.metrics = metrics;
    }

    /**
     * Tells every plugin of the conf how the phase ended, after the reply is decided (it is
     * already complete, so nothing here can change it). Never on the event loop: right here when
     * called on a plugin thread, else queued to the plugin executor; a rejected task or a throwing
     * observer is logged and counted, never propagated.
     */
    void tell(PluginPool pool, PreparedConf conf, String phase, java.util.function.Consumer<Plugin> call) {
        if (pool.isCurrentAndNoBatchWaiting()) { // else they would hold up the next calls of the batch
            runObservers(conf, phase, call);
            return;
        }
        try {
            pool.execute(() -> runObservers(conf, phase, call));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Observers record the call (pam-record): dropping them under load would let a flood
            // hide calls from the audit trail, so try the fallback pool before giving up.
            try {
                observerFallback.execute(() -> runObservers(conf, phase, call));
                metrics.outcome(phase, "observer_fallback");
            } catch (java.util.concurrent.RejectedExecutionException again) {
                metrics.outcome(phase, "observer_rejected");
                LOG.warn("{} outcome observers on {} not run: plugin and blocking executors full", phase, conf.identity().key());
            }
        }
    }

    private void runObservers(PreparedConf conf, String phase, java.util.function.Consumer<Plugin> call) {
        for (int i = 0; i < conf.plugins().size(); i++) {
            try {
                call.accept(conf.plugins().get(i));
            } catch (Throwable t) {
                metrics.outcome(phase, "observer_error");
                LOG.warn("{} outcome observer {} on {} failed: {}", phase, conf.names().get(i),
                        conf.identity().key(), t.getClass().getName());
            }
        }
    }
}
