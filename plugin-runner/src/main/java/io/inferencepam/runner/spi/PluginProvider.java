package io.inferencepam.runner.spi;

import java.util.List;

/**
 * Entry point found with {@link java.util.ServiceLoader}: a module of plugins registers one
 * provider in {@code META-INF/services/io.inferencepam.runner.spi.PluginProvider}.
 */
public interface PluginProvider {
    /**
     * The factories of this module. Called once at start (and by {@code lint}): must be cheap and
     * must not connect to anything; open connections lazily or in {@link PluginFactory#create}.
     */
    List<PluginFactory> factories(PluginEnvironment environment);
}
