package io.inferencepam.runner.spi;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/** Services the runtime lends to plugins. */
public interface PluginEnvironment {

    /** Bounded executor for blocking I/O (Redis, HTTP). A full queue rejects: treat it as "dependency down". */
    Executor blockingExecutor();

    /**
     * The plugin threads, for CPU work a hook declared {@link Plugin#inlineSafe} must not do on the
     * event loop (a signature check): runs the task at once when called on a plugin thread, else
     * queues it there. A full queue rejects: fail the call closed. Never for blocking I/O.
     * Offline tools and tests without plugin threads run it on the calling thread.
     */
    default Executor pluginExecutor() {
        return Runnable::run;
    }

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

    /**
     * Registers an action run when shutdown begins, before calls in flight are given their drain
     * time: a plugin holding calls open answers them here (the runtime would otherwise answer them
     * with its generic 503 once the drain time is over). Must not block.
     */
    default void onShutdownBegins(Runnable action) {
    }

    /**
     * True in offline tools that load plugins without serving any call ({@code lint},
     * {@code pamctl audit policy-replay}). A plugin may then decide from recorded facts where a live
     * call would need what is never recorded (pam-auth: the token) or a shared store (pam-approval).
     * Never true in a runner that serves APISIX.
     */
    default boolean offline() {
        return false;
    }
}
