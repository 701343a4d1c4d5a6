package io.inferencepam.testplugins;

import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import java.util.List;

/**
 * Test-only plugins, loaded by the real runner process from the tests-e2e test class path. Each
 * exercises one runtime behaviour through the real protocol; none of them is shipped.
 */
public final class TestPluginsProvider implements PluginProvider {
    @Override
    public List<PluginFactory> factories(PluginEnvironment env) {
        return List.of(
                new SimpleFactories.Noop(),
                new SimpleFactories.StopFactory(),
                new SimpleFactories.RewriteFactory(),
                new SimpleFactories.Inspect(),
                new SimpleFactories.Inspect("test-inspect-2"),
                new SimpleFactories.Throw(),
                new SimpleFactories.Slow(env),
                new SimpleFactories.Never(),
                new SlowCreateFactory(),
                new SimpleFactories.RespondFactory(),
                new SimpleFactories.Correlate(),
                new SimpleFactories.LargeBody(),
                new ConformancePlugin.Factory(),
                new GuardWithTestCheck(env));
    }
}
