package io.inferencepam.runner.cli;

import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The environment of offline tools (lint): nothing is served and nothing is connected. */
final class OfflineEnvironment implements PluginEnvironment {
    private final PrometheusMetrics metrics = new PrometheusMetrics();

    @Override
    public Executor blockingExecutor() {
        return Runnable::run;
    }

    @Override
    public ScheduledExecutorService scheduler() {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lint-timer");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public ControlApi control() {
        return (method, path, handler) -> { };
    }

    @Override
    public Metrics metrics() {
        return metrics;
    }

    @Override
    public Clock clock() {
        return Clock.systemUTC();
    }

    @Override
    public Optional<String> setting(String name) {
        return Optional.ofNullable(System.getenv(name));
    }

    @Override
    public void onShutdown(AutoCloseable resource) {
        // nothing runs long enough to need it
    }
}
