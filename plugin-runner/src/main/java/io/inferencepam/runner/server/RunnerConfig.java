package io.inferencepam.runner.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Runtime settings. APISIX launches the runner with {@code APISIX_LISTEN_ADDRESS} and
 * {@code APISIX_CONF_EXPIRE_TIME}; everything else has a safe default and a {@code PAM_*}
 * environment variable (or Java system property of the same name).
 *
 * @param socketPath          Unix socket path ({@code unix:} prefix stripped)
 * @param socketMode          octal permissions of the socket file, e.g. 0660, so the nginx worker user can connect
 * @param confExpire          APISIX's conf token lifetime; tokens are kept this long plus a margin
 * @param confCacheCapacity   max live conf tokens (evictions force APISIX to flush and re-prepare everything)
 * @param callDeadline        per-call deadline after which the answer is Stop 503
 * @param maxFramePayload     largest frame accepted (bytes; the protocol maximum is 16 MiB − 1)
 * @param partialFrameTimeout how long an incomplete frame may sit before the connection is closed
 * @param ioThreads           Netty event-loop threads serving the APISIX connections
 * @param pluginThreads       threads that run plugin code
 * @param blockingThreads     threads lent to plugins for blocking I/O
 * @param executorQueue       queue bound of both executors (full → fail closed with 503)
 * @param controlPort         loopback port of the control API (0 = pick a free port, -1 = disabled)
 * @param controlHost         address the control API binds to (loopback by default)
 * @param shutdownDrain       on SIGTERM, how long calls in flight may still finish; then each one
 *                            left gets its fail-closed answer (Stop 503, or the safe error response)
 *                            before its connection closes. APISIX sends SIGKILL 1 s after SIGTERM.
 * @param largeBodyBytes      calls whose body (request or response) is longer than this run on the
 *                            large-body lane, so cheap calls never wait behind them
 * @param largeBodyThreads    threads of the large-body lane (fewer than {@code pluginThreads})
 * @param maxHold             how long after its start a plugin may hold a request-phase call open
 *                            (pam-approval's live wait); at most {@link #MAX_HOLD_LIMIT}, under APISIX's
 *                            fixed 60 s ext-plugin timeout. Calls that are not held keep {@code callDeadline}.
 * @param noHeaderRemovalBeforePreReq the operator's statement that no global rule and no plugin running
 *                            before {@code ext-plugin-pre-req} removes a request header
 *                            ({@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ}, default false): then a
 *                            complete call frame (fewer than 100 headers) is the whole request: a
 *                            header var is answered from it, present (all its lines) or absent, and
 *                            not asked; by default only Authorization is (see {@code FrameVars} and
 *                            docs/plugin-runner.md)
 * @param prepareDeadline     how long a PrepareConf may take: building the plugins, then their warm-up
 *                            ({@code Plugin.warmUp}: an issuer's keys; a conf's own build, e.g. the audit service's start, counts too), so a
 *                            route's first call does not spend its own deadline on that. Its own setting
 *                            ({@code PAM_PREPARE_DEADLINE_MS}), never shorter than {@code callDeadline}
 *                            by default: APISIX waits 60 s for the answer.
 */
public record RunnerConfig(
        Path socketPath,
        int socketMode,
        Duration confExpire,
        int confCacheCapacity,
        Duration callDeadline,
        int maxFramePayload,
        Duration partialFrameTimeout,
        int ioThreads,
        int pluginThreads,
        int blockingThreads,
        int executorQueue,
        int controlPort,
        String controlHost,
        Duration shutdownDrain,
        int largeBodyBytes,
        int largeBodyThreads,
        Duration maxHold,
        boolean noHeaderRemovalBeforePreReq,
        Duration prepareDeadline) {

    public static final Duration CONF_EXPIRE_MARGIN = Duration.ofSeconds(10);
    /**
     * APISIX waits 60 s for a reply (fixed socket timeout in its ext-plugin code), then answers 503
     * and closes the connection: a held call must be answered before that, with room for the
     * plugins after the holding one and the frame's way back.
     */
    public static final Duration MAX_HOLD_LIMIT = Duration.ofSeconds(55);
    /** Default PrepareConf deadline, unless the call deadline is longer. */
    public static final Duration PREPARE_DEADLINE_DEFAULT = Duration.ofSeconds(10);

    public static RunnerConfig fromEnvironment() {
        return from(name -> Optional.ofNullable(System.getenv(name)).or(() -> Optional.ofNullable(System.getProperty(name))));
    }

    public static RunnerConfig from(Map<String, String> settings) {
        return from(name -> Optional.ofNullable(settings.get(name)));
    }

    public static RunnerConfig from(Function<String, Optional<String>> settings) {
        String address = settings.apply("APISIX_LISTEN_ADDRESS")
                .orElseThrow(() -> new IllegalArgumentException(
                        "APISIX_LISTEN_ADDRESS is not set (e.g. unix:/usr/local/apisix/conf/apisix-1.sock)"));
        String path = address.startsWith("unix:") ? address.substring("unix:".length()) : address;
        if (path.isBlank()) {
            throw new IllegalArgumentException("APISIX_LISTEN_ADDRESS names no socket path");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        Duration callDeadline = Duration.ofMillis(positive(settings, "PAM_CALL_DEADLINE_MS", 10_000));
        return new RunnerConfig(
                Path.of(path),
                octal(settings, "PAM_SOCKET_MODE", "660"),
                Duration.ofSeconds(positive(settings, "APISIX_CONF_EXPIRE_TIME", 3600)),
                positive(settings, "PAM_CONF_CACHE_CAPACITY", 10_000),
                callDeadline,
                Math.min(positive(settings, "PAM_MAX_FRAME_BYTES", 0xFFFFFF), 0xFFFFFF),
                Duration.ofMillis(positive(settings, "PAM_PARTIAL_FRAME_TIMEOUT_MS", 30_000)),
                positive(settings, "PAM_IO_THREADS", cores),
                positive(settings, "PAM_PLUGIN_THREADS", Math.max(2, cores)),
                positive(settings, "PAM_BLOCKING_THREADS", 32),
                positive(settings, "PAM_EXECUTOR_QUEUE", 10_000),
                integer(settings, "PAM_CONTROL_PORT", 9181),
                settings.apply("PAM_CONTROL_HOST").orElse("127.0.0.1"),
                Duration.ofMillis(notNegative(settings, "PAM_SHUTDOWN_DRAIN_MS", 400)),
                positive(settings, "PAM_LARGE_BODY_BYTES", 256 * 1024),
                positive(settings, "PAM_LARGE_BODY_THREADS", Math.max(1, cores / 2)),
                maxHold(settings),
                bool(settings, "PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ", false),
                prepareDeadline(settings, callDeadline));
    }

    /** {@code true} or {@code false} (any case); anything else stops the start rather than guess. */
    private static boolean bool(Function<String, Optional<String>> settings, String name, boolean fallback) {
        String raw = settings.apply(name).orElse(null);
        if (raw == null || raw.isBlank()) {
            return fallback;
        }
        String v = raw.trim();
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(name + " must be true or false");
    }

    private static Duration prepareDeadline(Function<String, Optional<String>> settings, Duration callDeadline) {
        Duration fallback = callDeadline.compareTo(PREPARE_DEADLINE_DEFAULT) > 0 ? callDeadline : PREPARE_DEADLINE_DEFAULT;
        fallback = fallback.compareTo(MAX_HOLD_LIMIT) > 0 ? MAX_HOLD_LIMIT : fallback;
        int ms = positive(settings, "PAM_PREPARE_DEADLINE_MS", (int) fallback.toMillis());
        if (ms > MAX_HOLD_LIMIT.toMillis()) {
            throw new IllegalArgumentException("PAM_PREPARE_DEADLINE_MS must be at most " + MAX_HOLD_LIMIT.toMillis()
                    + ": APISIX gives up on a PrepareConf after 60 s");
        }
        return Duration.ofMillis(ms);
    }

    private static Duration maxHold(Function<String, Optional<String>> settings) {
        int ms = positive(settings, "PAM_MAX_HOLD_MS", (int) MAX_HOLD_LIMIT.toMillis());
        if (ms > MAX_HOLD_LIMIT.toMillis()) {
            throw new IllegalArgumentException("PAM_MAX_HOLD_MS must be at most " + MAX_HOLD_LIMIT.toMillis()
                    + ": APISIX gives up on a call after 60 s");
        }
        return Duration.ofMillis(ms);
    }

    private static int notNegative(Function<String, Optional<String>> settings, String name, int fallback) {
        int v = integer(settings, name, fallback);
        if (v < 0) {
            throw new IllegalArgumentException(name + " must not be negative");
        }
        return v;
    }

    private static int octal(Function<String, Optional<String>> settings, String name, String fallback) {
        String raw = settings.apply(name).orElse(fallback).trim();
        try {
            int mode = Integer.parseInt(raw, 8);
            if (mode < 0 || mode > 0777) {
                throw new NumberFormatException();
            }
            return mode;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be octal permissions such as 660");
        }
    }

    private static int integer(Function<String, Optional<String>> settings, String name, int fallback) {
        String raw = settings.apply(name).orElse(null);
        if (raw == null || raw.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer");
        }
    }

    private static int positive(Function<String, Optional<String>> settings, String name, int fallback) {
        String raw = settings.apply(name).orElse(null);
        if (raw == null || raw.isBlank()) {
            return fallback;
        }
        int v;
        try {
            v = Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer");
        }
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive");
        }
        return v;
    }
}
