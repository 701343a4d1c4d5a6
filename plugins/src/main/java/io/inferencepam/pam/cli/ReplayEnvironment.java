package io.inferencepam.pam.cli;

import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The environment pamctl lends plugins it runs offline (policy replay): nothing is served. */
final class ReplayEnvironment implements PluginEnvironment {
    private final PrometheusMetrics metrics = new PrometheusMetrics();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pamctl-timer");
        t.setDaemon(true);
        return t;
    });
    private final Executor blocking = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pamctl-blocking");
        t.setDaemon(true);
        return t;
    });

    @Override
    public Executor blockingExecutor() {
        return blocking;
    }

    @Override
    public ScheduledExecutorService scheduler() {
        return scheduler;
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
        return Optional.ofNullable(System.getenv(name)).or(() -> Optional.ofNullable(System.getProperty(name)));
    }

    @Override
    public void onShutdown(AutoCloseable resource) {
        // a short-lived process
    }
}
