package io.inferencepam.runner.conf;

import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;

/**
 * The environment of offline tools that load plugins without serving APISIX ({@code lint},
 * {@code pamctl audit policy-replay}): nothing is served, settings come from the process
 * environment, then Java system properties. Threads are daemons: these are short-lived processes.
 */
public final class OfflineEnvironment implements PluginEnvironment {
    private final PrometheusMetrics metrics = new PrometheusMetrics();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(daemon("offline-timer"));
    private final Executor blocking = Executors.newCachedThreadPool(daemon("offline-blocking"));

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

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
    public boolean offline() {
        return true;
    }

    @Override
    public void onShutdown(AutoCloseable resource) {
        // nothing runs long enough to need it
    }
}
