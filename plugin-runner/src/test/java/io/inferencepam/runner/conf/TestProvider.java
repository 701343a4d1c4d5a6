package io.inferencepam.runner.conf;

import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import java.util.List;

/** Registers the test factories through ServiceLoader, as a real plugin module does. */
public final class TestProvider implements PluginProvider {
    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(TestFactories.limits(), TestFactories.responseOnly());
    }
}
