package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.PluginLoader;
import io.inferencepam.runner.conf.PluginRegistry;
import io.inferencepam.runner.control.ControlServer;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.FrameEncoder;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of the runtime: executors, plugin loading, the Unix socket server and the
 * control API. The socket is bound before plugins finish loading, so APISIX can connect at once;
 * PrepareConf simply waits for the registry (off the event loop).
 */
public final class Runner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Runner.class);

    private final RunnerConfig config;
    private final Function<String, Optional<String>> settings;
    private final PrometheusMetrics metrics = new PrometheusMetrics();
    private final PluginPool pluginPool;
    /** Calls with a large body: their own threads, so cheap calls never wait behind them. */
    private final PluginPool largeBodyPool;
    private final ThreadPoolExecutor blockingPool;
    private final ScheduledExecutorService scheduler;
    /** Per-call deadlines: 10 ms ticks are precise enough for a deadline of seconds; no ticks while no call is pending. */
    private final IdleStoppingTimer deadlines;
    private final ControlServer control;
    private final Deque<AutoCloseable> shutdownHooks = new ArrayDeque<>();
    /** Run first at shutdown, before the drain: plugins holding calls open answer them. */
    private final java.util.List<Runnable> shutdownBeginsHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final ChannelGroup connections = new DefaultChannelGroup("apisix", GlobalEventExecutor.INSTANCE);
    private final CompletableFuture<ConfCompiler> compiler = new CompletableFuture<>();
    /** RPCs received and not yet answered, on every connection: shutdown waits for them. */
    private final java.util.concurrent.atomic.AtomicInteger openRpcs = new java.util.concurrent.atomic.AtomicInteger();
    private CallDispatcher dispatcher;
    /** The socket file's identity once bound: shutdown removes the file only while it is still ours. */
    private Object socketFileKey;
    private Transport transport;
    private NioEventLoopGroup controlGroup;
    private Channel server;
    private InetSocketAddress controlAddress;

    public Runner(RunnerConfig config, Function<String, Optional<String>> settings) {
        this.config = config;
        this.settings = settings;
        this.blockingPool = BoundedExecutors.fixed("pam-blocking", config.blockingThreads(), config.executorQueue());
        // Plugins may cancel most of their timers (timeouts around I/O): without remove-on-cancel
        // each cancelled task would stay queued until its delay ran out.
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, BoundedExecutors.daemon("pam-timer"));
        timer.setRemoveOnCancelPolicy(true);
        this.scheduler = Executors.unconfigurableScheduledExecutorService(timer);
        java.util.concurrent.ThreadFactory deadlineThreads = BoundedExecutors.daemon("pam-deadline");
        this.deadlines = new IdleStoppingTimer(() -> new HashedWheelTimer(deadlineThreads, 10, TimeUnit.MILLISECONDS),
                scheduler, 1, TimeUnit.SECONDS);
        this.pluginPool = new PluginPool("pam-plugin", config.pluginThreads(), config.executorQueue(), deadlines);
        this.largeBodyPool = new PluginPool("pam-large-body", config.largeBodyThreads(), config.executorQueue(), deadlines);
        this.control = new ControlServer(blockingPool,
                io.inferencepam.runner.control.ControlAccess.of(settings.apply(io.inferencepam.runner.control.ControlAccess.TOKEN_SETTING), config.controlHost()));
    }

    /** Binds the socket and starts loading plugins. Returns once APISIX can connect. */
    public Runner start() throws Exception {
        CompletableFuture.runAsync(this::loadPlugins, pluginPool);
        ConfStore confs = new ConfStore(config.confExpire().plus(RunnerConfig.CONF_EXPIRE_MARGIN), config.confCacheCapacity());
        ExchangeStore exchanges = new ExchangeStore(Duration.ofMinutes(5), 200_000);
        RunnerMetrics rm = new RunnerMetrics(metrics);
        registerRuntimeGauges(confs, exchanges);
        dispatcher = new CallDispatcher(pluginPool, new LargeBodyLane(largeBodyPool, config.largeBodyBytes()), blockingPool,
                deadlines, exchanges, config.callDeadline(), config.maxHold(), rm);

        transport = Transport.create(config.ioThreads());
        // One hand-off per event loop: the sessions of a loop batch their calls together.
        Map<io.netty.channel.EventLoop, LoopHandOff> handOffs = new java.util.concurrent.ConcurrentHashMap<>();
        Path socket = config.socketPath();
        Files.deleteIfExists(socket); // a stale socket from a previous run would make bind fail
        // Bind under a temporary name, set the permissions, then rename: the socket never appears at
        // its real path with the umask's permissions (a client, or a launcher waiting for the file,
        // would otherwise race the chmod).
        Path bound = socket.resolveSibling(".pam-" + ProcessHandle.current().pid() + ".sock");
        Files.deleteIfExists(bound);
        server = new ServerBootstrap()
                .group(transport.group())
                .channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        LoopHandOff handOff = handOffs.computeIfAbsent(ch.eventLoop(), loop -> new LoopHandOff(loop, pluginPool));
                        ch.pipeline().addLast(
                                new FrameEncoder(),
                                new FrameDecoder(config.maxFramePayload(), config.partialFrameTimeout().toMillis()),
                                new ConnectionDrain(openRpcs),
                                new RpcSession(compiler, confs, dispatcher, handOff, pluginPool, rm, config.prepareDeadline(),
                                        FrameVars.of(config.noHeaderRemovalBeforePreReq())));
                    }
                })
                .bind(new DomainSocketAddress(bound.toFile())).sync().channel();
        setPermissions(bound, config.socketMode());
        Files.move(bound, socket, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        socketFileKey = socketFileKey(socket);

        if (config.controlPort() >= 0) {
            controlGroup = new NioEventLoopGroup(1, new DefaultThreadFactory("pam-control", true));
            registerHealth();
            controlAddress = control.start(controlGroup, config.controlHost(), config.controlPort());
        }
        LOG.info("listening on {} ({}), control API on {}", socket, transport.name(),
                controlAddress == null ? "disabled" : controlAddress);
        if (config.noHeaderRemovalBeforePreReq()) {
            // The operator's statement, not something the runner can check: say it where it will be read.
            LOG.info("{}=true: a pre-req call frame with fewer than {} headers is taken as complete; header vars are answered"
                    + " from it, absent headers are not asked"
                    + " (wrong if a global rule or a plugin before ext-plugin-pre-req removes request headers)",
                    FrameVars.NO_HEADER_REMOVAL_SETTING, FrameVars.HEADER_CAP);
        }
        return this;
    }

    private void loadPlugins() {
        try {
            PluginRegistry registry = PluginLoader.load(environment());
            compiler.complete(new ConfCompiler(registry));
            LOG.info("plugins loaded: {}", registry.names());
        } catch (Throwable t) {
            // Class and location only: a provider's exception message may carry a setting's value.
            StackTraceElement[] st = t.getStackTrace();
            LOG.error("plugins failed to load; every PrepareConf will fail (routes answer 503): {} at {}",
                    t.getClass().getName(), st.length > 0 ? st[0] : "?");
            compiler.completeExceptionally(t);
        }
    }

    /** Completes when plugins are loaded (or failed to load). */
    public CompletableFuture<ConfCompiler> plugins() {
        return compiler;
    }

    public Optional<InetSocketAddress> controlAddress() {
        return Optional.ofNullable(controlAddress);
    }

    private PluginEnvironment environment() {
        return new PluginEnvironment() {
            @Override
            public Executor blockingExecutor() {
                return blockingPool;
            }

            @Override
            public Executor pluginExecutor() {
                // At once on any plugin thread (a large-body lane's too: its work stays on the lane), else queued.
                return task -> {
                    if (pluginPool.isCurrent() || largeBodyPool.isCurrent()) {
                        task.run();
                    } else {
                        pluginPool.execute(task);
                    }
                };
            }

            @Override
            public ScheduledExecutorService scheduler() {
                return scheduler;
            }

            @Override
            public ControlApi control() {
                return control;
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
                return settings.apply(name);
            }

            @Override
            public void onShutdown(AutoCloseable resource) {
                synchronized (shutdownHooks) {
                    shutdownHooks.push(resource);
                }
            }

            @Override
            public void onShutdownBegins(Runnable action) {
                shutdownBeginsHooks.add(action);
            }
        };
    }

    private void registerRuntimeGauges(ConfStore confs, ExchangeStore exchanges) {
        metrics.gauge("pam_runner_conf_cache_size", "Live conf tokens", confs::size);
        metrics.gauge("pam_runner_conf_cache_evictions", "Conf tokens evicted for capacity (each forces APISIX to re-prepare)",
                confs::evictions);
        metrics.gauge("pam_runner_exchanges", "Calls whose request and response phases are being correlated", exchanges::size);
        metrics.gauge("pam_runner_connections", "Open APISIX connections", connections::size);
        metrics.gauge("pam_runner_plugin_queue_depth", "Tasks waiting for a plugin thread", pluginPool::queueDepth);
        metrics.gauge("pam_runner_large_body_queue_depth", "Tasks waiting for a thread of the large-body lane",
                largeBodyPool::queueDepth);
        metrics.gauge("pam_runner_blocking_queue_depth", "Tasks waiting for a blocking-I/O thread", () -> blockingPool.getQueue().size());
    }

    private void registerHealth() {
        control.route("GET", "/healthz", r -> CompletableFuture.completedFuture(ControlApi.Response.json(200, "{\"status\":\"alive\"}")));
        control.route("GET", "/readyz", r -> {
            boolean ready = server != null && server.isActive() && compiler.isDone() && !compiler.isCompletedExceptionally();
            return CompletableFuture.completedFuture(ready
                    ? ControlApi.Response.json(200, "{\"status\":\"ready\"}")
                    : ControlApi.Response.json(503, "{\"status\":\"not ready\"}"));
        });
        control.route("GET", "/metrics", r -> CompletableFuture.completedFuture(
                new ControlApi.Response(200, "text/plain; version=0.0.4; charset=utf-8",
                        io.inferencepam.runner.spi.Body.utf8(metrics.scrape()))));
    }

    static void setPermissions(Path socket, int mode) throws IOException {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                perms.add(order[bit]);
            }
        }
        Files.setPosixFilePermissions(socket, perms);
    }

    /**
     * Shutdown (SIGTERM, on every APISIX reload and stop). No call in flight is left without an
     * answer: a connection closed under a call makes APISIX answer 503, and in the response phase
     * send the original, unmasked body (conformance P6, P10).
     * <ol>
     * <li>Plugins that hold calls open answer them ({@code onShutdownBegins}).</li>
     * <li>Calls in flight may finish for up to {@link RunnerConfig#shutdownDrain()}, while the
     *     runner keeps serving (an APISIX worker still finishing its requests may send more).</li>
     * <li>Then every call still running, or waiting for its ExtraInfo answers, is cut short with its
     *     fail-closed answer (Stop 503; the safe error response), and so is any call after it.</li>
     * <li>Each connection closes once its reply is written (idle ones at once); after
     *     {@link #ANSWER_GRACE_MILLIS} the rest are closed anyway.</li>
     * <li>Plugin shutdown hooks run; executors and event loops stop; the socket file is removed
     *     unless a new runner has already bound its own at that path (a reload starts one).</li>
     * </ol>
     * Bounded: about the drain time plus a second at most.
     */
    @Override
    public void close() {
        long drainEnd = System.nanoTime() + config.shutdownDrain().toNanos();
        for (Runnable begins : shutdownBeginsHooks) {
            try {
                begins.run();
            } catch (RuntimeException e) {
                LOG.warn("shutdown hook failed: {}", e.getClass().getSimpleName());
            }
        }
        while (openRpcs.get() > 0 && System.nanoTime() < drainEnd) {
            pause();
        }
        if (dispatcher != null) {
            dispatcher.cutShort();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(900);
        if (server != null) {
            server.close().awaitUninterruptibly(200);
        }
        int unanswered = openRpcs.get();
        for (Channel ch : connections) {
            ConnectionDrain drain = ch.pipeline().get(ConnectionDrain.class);
            if (drain != null) {
                drain.closeWhenIdle();
            } else {
                ch.close();
            }
        }
        long graceEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ANSWER_GRACE_MILLIS);
        while (!connections.isEmpty() && System.nanoTime() < graceEnd) {
            pause();
        }
        if (unanswered > 0 || !connections.isEmpty()) {
            LOG.info("shutdown: {} call(s) answered fail-closed after the {} ms drain, {} connection(s) closed unanswered",
                    unanswered, config.shutdownDrain().toMillis(), openRpcs.get());
        }
        connections.close().awaitUninterruptibly(200);
        control.stop();
        synchronized (shutdownHooks) {
            while (!shutdownHooks.isEmpty()) {
                try {
                    shutdownHooks.pop().close();
                } catch (Exception e) {
                    LOG.warn("shutdown hook failed: {}", e.getClass().getSimpleName());
                }
            }
        }
        pluginPool.shutdownNow();
        largeBodyPool.shutdownNow();
        blockingPool.shutdownNow();
        scheduler.shutdownNow();
        deadlines.stop();
        long left = Math.max(0, deadline - System.nanoTime());
        if (transport != null) {
            transport.group().shutdownGracefully(0, TimeUnit.NANOSECONDS.toMillis(left) / 2 + 1, TimeUnit.MILLISECONDS);
        }
        if (controlGroup != null) {
            controlGroup.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS);
        }
        try {
            if (socketFileKey != null && socketFileKey.equals(socketFileKey(config.socketPath()))) {
                Files.deleteIfExists(config.socketPath());
            }
        } catch (IOException ignored) {
            // gone already, or best effort: the next start removes a stale socket anyway
        }
    }

    /** How long connections may still take to write their last reply once calls are cut short. */
    static final long ANSWER_GRACE_MILLIS = 200;

    private static void pause() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The inode behind {@code path} (null when absent): tells our socket from a new runner's. */
    private static Object socketFileKey(Path path) throws IOException {
        try {
            return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }
}
