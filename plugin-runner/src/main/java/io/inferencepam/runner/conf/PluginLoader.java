package io.inferencepam.runner.conf;

import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds every {@link PluginProvider} on the class path. */
public final class PluginLoader {
    private PluginLoader() {
    }

    public static PluginRegistry load(PluginEnvironment env) {
        List<PluginFactory> factories = new ArrayList<>();
        for (PluginProvider p : ServiceLoader.load(PluginProvider.class)) {
            factories.addAll(p.factories(env));
        }
        return PluginRegistry.of(factories, ConfCompiler.STRICT_JSON);
    }
}
