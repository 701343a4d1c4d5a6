package io.inferencepam.e2e.support;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real {@code redis-server} (Debian package, installed by {@code .ci/run}) on a free loopback
 * port with its own temporary directory. Can be stopped and started again on the same port, to
 * test what happens while Redis is down.
 */
public final class RedisServer implements AutoCloseable {
    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;

    private RedisServer(int port, Path dir, List<String> extraArgs) {
        this.port = port;
        this.dir = dir;
        this.extraArgs = List.copyOf(extraArgs);
    }

    public static RedisServer start() throws IOException, InterruptedException {
        RedisServer r = new RedisServer(RunnerProcess.freePort(), Files.createTempDirectory("pam-redis"), List.of());
        r.startAgain();
        return r;
    }

    /**
     * A server that writes every change to its append-only file before it replies ({@code appendfsync
     * always}): after {@link #kill()} and {@link #startAgain()} it holds exactly what it acknowledged.
     */
    public static RedisServer startDurable() throws IOException, InterruptedException {
        RedisServer r = new RedisServer(RunnerProcess.freePort(), Files.createTempDirectory("pam-redis"),
                List.of("--appendonly", "yes", "--appendfsync", "always"));
        r.startAgain();
        return r;
    }

    /** The binary: {@code PAM_REDIS_SERVER} or {@code redis-server} on the PATH. */
    static String binary() {
        String configured = System.getenv("PAM_REDIS_SERVER");
        return configured != null && !configured.isBlank() ? configured : "redis-server";
    }

    public void startAgain() throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(binary(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--protected-mode", "yes"));
        cmd.addAll(extraArgs); // later options win
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
                }
                Thread.sleep(10);
            }
        }
        throw new IllegalStateException("redis-server did not listen on " + port);
    }

    public void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            process.waitFor();
        }
    }

    /** SIGKILL: no shutdown work, as a crash or an OOM kill. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor();
        }
    }

    /** SIGSTOP: the server keeps its connections but answers nothing (a stalled Redis) until {@link #resume()}. */
    public void pause() throws IOException, InterruptedException {
        signal("-STOP");
    }

    /** SIGCONT after {@link #pause()}: the server processes what it received meanwhile. */
    public void resume() throws IOException, InterruptedException {
        signal("-CONT");
    }

    private void signal(String sig) throws IOException, InterruptedException {
        if (new ProcessBuilder("kill", sig, Long.toString(process.pid())).inheritIO().start().waitFor() != 0) {
            throw new IllegalStateException("kill " + sig + " failed");
        }
    }

    public int port() {
        return port;
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
