package io.inferencepam.pam.auth;

import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** A real (not mocked) plugin environment for unit tests: thread pools, metrics, settings map. */
final class TestEnv implements PluginEnvironment, AutoCloseable {
    final ExecutorService blocking = Executors.newFixedThreadPool(2);
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    final PrometheusMetrics metrics = new PrometheusMetrics();
    final Map<String, String> settings = new HashMap<>();
    final Map<String, ControlApi.Handler> routes = new HashMap<>();
    private final Deque<AutoCloseable> hooks = new ArrayDeque<>();
    Clock clock = Clock.systemUTC();
    /** Where pam-auth hands a token-cache miss; by default the calling thread, as without plugin threads. */
    Executor pluginExecutor = Runnable::run;

    @Override
    public Executor blockingExecutor() {
        return blocking;
    }

    @Override
    public Executor pluginExecutor() {
        return pluginExecutor;
    }

    @Override
    public ScheduledExecutorService scheduler() {
        return scheduler;
    }

    @Override
    public ControlApi control() {
        return (method, path, handler) -> routes.put(method + " " + path, handler);
    }

    @Override
    public Metrics metrics() {
        return metrics;
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public Optional<String> setting(String name) {
        return Optional.ofNullable(settings.get(name));
    }

    @Override
    public void onShutdown(AutoCloseable resource) {
        hooks.push(resource);
    }

    @Override
    public void close() throws Exception {
        while (!hooks.isEmpty()) {
            hooks.pop().close();
        }
        blocking.shutdownNow();
        scheduler.shutdownNow();
    }
}
