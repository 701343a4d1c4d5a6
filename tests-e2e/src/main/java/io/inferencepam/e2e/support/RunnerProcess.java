package io.inferencepam.e2e.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The real runner, as a separate JVM process listening on a real Unix socket, started the way
 * APISIX starts it ({@code APISIX_LISTEN_ADDRESS}, {@code APISIX_CONF_EXPIRE_TIME}). It runs from
 * the current test class path, so test-only plugins registered there (ServiceLoader) are available
 * next to the PAM plugins.
 */
public final class RunnerProcess implements AutoCloseable {
    private final Path socket;
    private final Path log;
    private final Map<String, String> env;
    private final int controlPort;
    /** The control API's bearer token (a fresh random one per runner unless the test sets its own). */
    private final String controlToken = java.util.UUID.randomUUID().toString();
    private Process process;

    private RunnerProcess(Path dir, Map<String, String> extraEnv) throws IOException {
        this.socket = dir.resolve("runner.sock");
        this.log = dir.resolve("runner.log");
        this.controlPort = freePort();
        this.env = new LinkedHashMap<>();
        env.put("APISIX_LISTEN_ADDRESS", "unix:" + socket);
        env.put("APISIX_CONF_EXPIRE_TIME", "3600");
        env.put("PAM_CONTROL_PORT", Integer.toString(controlPort));
        env.put("PAM_CONTROL_TOKEN", controlToken);
        // pam-record requires a private spool directory (no default): one per runner, in its own temporary directory
        env.put("PAM_AUDIT_SPOOL_DIR", dir.resolve("audit-spool").toString());
        env.putAll(extraEnv);
    }

    /** How long a runner may take to open its socket (a loaded host, a cold JIT) before it counts as failed. */
    static final Duration SOCKET_WAIT = Duration.ofSeconds(30);

    /** Starts a runner in a fresh temporary directory and waits for its socket. */
    public static RunnerProcess start(Map<String, String> extraEnv) throws IOException, InterruptedException {
        return start(extraEnv, SOCKET_WAIT);
    }

    /** As {@link #start(Map)}, waiting at most {@code socketWait} for the socket (tests of this class). */
    static RunnerProcess start(Map<String, String> extraEnv, Duration socketWait) throws IOException, InterruptedException {
        RunnerProcess r = new RunnerProcess(Files.createTempDirectory("pam-runner"), extraEnv);
        r.launch(socketWait);
        return r;
    }

    public static RunnerProcess start() throws IOException, InterruptedException {
        return start(Map.of());
    }

    public Path socket() {
        return socket;
    }

    public Path logFile() {
        return log;
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    public int controlPort() {
        return controlPort;
    }

    /** Value for {@code Authorization} on control-API calls. */
    public String controlAuthorization() {
        return "Bearer " + env.get("PAM_CONTROL_TOKEN");
    }

    public Process process() {
        return process;
    }

    /**
     * Time from launch until the socket file exists. A runner that exits first, or whose socket
     * does not appear in time, fails the launch with its output; one that is still running then
     * is killed first (and so is one whose wait is interrupted), never left behind.
     */
    public Duration launch() throws IOException, InterruptedException {
        return launch(SOCKET_WAIT);
    }

    private Duration launch(Duration socketWait) throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xshare:auto");
        cmd.add("-XX:TieredStopAtLevel=1".equals(System.getenv("PAM_TEST_JIT")) ? "-XX:TieredStopAtLevel=1" : "-XX:+UseSerialGC");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.inferencepam.runner.cli.Main");
        cmd.add("run");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        long start = System.nanoTime();
        process = pb.start();
        long deadline = start + socketWait.toNanos();
        boolean up = false;
        try {
            while (!Files.exists(socket)) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("runner exited with " + process.exitValue() + ":\n" + log());
                }
                if (System.nanoTime() - deadline >= 0) {
                    long pid = process.pid();
                    kill(); // first: its output is complete once it is gone
                    throw new IllegalStateException("runner socket did not appear within " + socketWait.toSeconds()
                            + " s; the runner (pid " + pid + ") was killed. Its output (" + log + "):\n" + log());
                }
                Thread.sleep(5);
            }
            up = true;
        } finally {
            if (!up) {
                kill(); // interrupted, or failed above: a runner nobody will stop must not outlive the test
            }
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** SIGKILL, and waits until it is gone. */
    private void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // still killed; the caller's failure stands
        }
    }

    /** SIGTERM, as APISIX sends on stop; returns how long the process took to exit. */
    public Duration stop() throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return Duration.ZERO;
        }
        long start = System.nanoTime();
        process.destroy();
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    public Duration restart() throws IOException, InterruptedException {
        stop();
        return launch();
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
