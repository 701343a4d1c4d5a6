package io.inferencepam.runner.spi;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/** Services the runtime lends to plugins. */
public interface PluginEnvironment {

    /** Bounded executor for blocking I/O (Redis, HTTP). A full queue rejects: treat it as "dependency down". */
    Executor blockingExecutor();

    /** For timers and background refreshes. Never block in its tasks. */
    ScheduledExecutorService scheduler();

    ControlApi control();

    Metrics metrics();

    Clock clock();

    /**
     * Runner settings, e.g. {@code PAM_REDIS_URL}: from the process environment, then from Java
     * system properties of the same name.
     */
    Optional<String> setting(String name);

    /** Registers a hook run at shutdown, in reverse registration order. */
    void onShutdown(AutoCloseable resource);
}
