package io.inferencepam.pam.approval;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real local Redis Cluster for the approval tests: three masters ({@code redis-server
 * --cluster-enabled yes}) joined by {@code redis-cli --cluster create}. Self-contained on purpose
 * (another test-support class of the same kind may exist; this one only serves pam-approval).
 */
final class ApprovalRedisCluster implements AutoCloseable {
    private final List<Process> nodes = new ArrayList<>();
    private final List<Integer> ports = new ArrayList<>();
    private final Path dir;

    private ApprovalRedisCluster(Path dir) {
        this.dir = dir;
    }

    static ApprovalRedisCluster start(int masters) throws Exception {
        ApprovalRedisCluster c = new ApprovalRedisCluster(Files.createTempDirectory("pam-approval-cluster"));
        try {
            c.launch(masters);
        } catch (Exception e) {
            c.close();
            throw e;
        }
        return c;
    }

    List<Integer> ports() {
        return ports;
    }

    private void launch(int masters) throws Exception {
        for (int i = 0; i < masters; i++) {
            int port = freePortWithBus();
            Path d = Files.createDirectories(dir.resolve("n" + port));
            Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes", "--cluster-config-file", d.resolve("nodes.conf").toString(),
                    "--cluster-node-timeout", "2000", "--dir", d.toString(), "--save", "", "--appendonly", "no")
                    .redirectErrorStream(true).redirectOutput(d.resolve("redis.log").toFile()).start();
            nodes.add(p);
            ports.add(port);
            awaitListening(port, p);
        }
        List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
        for (int port : ports) {
            create.add("127.0.0.1:" + port);
        }
        create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Process p = new ProcessBuilder(create).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("redis-cli --cluster create failed:\n" + out);
        }
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int port : ports) {
            while (!cli(port, "cluster", "info").contains("cluster_state:ok")) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("cluster not ok on " + port);
                }
                Thread.sleep(100);
            }
        }
    }

    static String cli(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }

    private static void awaitListening(int port, Process p) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("redis-server exited on port " + port);
                }
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException("redis-server did not listen on " + port);
    }

    /** A free port whose cluster bus port (+10000) is free too. */
    private static int freePortWithBus() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            if (port + 10000 > 65535) {
                continue;
            }
            try (ServerSocket bus = new ServerSocket(port + 10000)) {
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no free port pair");
    }

    @Override
    public void close() {
        for (Process p : nodes) {
            p.destroy();
        }
        for (Process p : nodes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
