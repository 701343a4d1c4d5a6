package io.inferencepam.pam.quota;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;

/**
 * Creates pam-quota plugins: one store (the runner's shared Redis client and blocking executor)
 * and one set of metrics for every conf. Serves both phases: list it in {@code ext-plugin-pre-req}
 * (after pam-auth) and, on routes with token caps, with the same conf in {@code ext-plugin-post-resp}.
 */
public final class PamQuotaFactory implements PluginFactory {
    private final PamServices services;
    private final QuotaMetrics metrics;
    private volatile QuotaStore store;

    public PamQuotaFactory(PamServices services) {
        this.services = services;
        this.metrics = new QuotaMetrics(services.env().metrics());
    }

    @Override
    public String name() {
        return PamQuotaPlugin.NAME;
    }

    @Override
    public String confSchema() {
        return QuotaConf.SCHEMA;
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        return new PamQuotaPlugin(QuotaConf.parse(conf), store(), metrics);
    }

    /** Lazy: creating it connects nothing, but only routes that use quotas should need Redis settings. */
    private QuotaStore store() {
        QuotaStore s = store;
        if (s == null) {
            synchronized (this) {
                s = store;
                if (s == null) {
                    s = new QuotaStore(services.redis(), services.env().blockingExecutor());
                    store = s;
                }
            }
        }
        return s;
    }
}
