package io.inferencepam.e2e.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A real local Redis Cluster: {@code masters} {@code redis-server --cluster-enabled yes} processes on
 * free loopback ports (each with its own directory and node file), joined by
 * {@code redis-cli --cluster create … --cluster-replicas 0 --cluster-yes}, returned once every
 * node reports {@code cluster_state:ok}. Binaries: {@code PAM_REDIS_SERVER} / {@code PAM_REDIS_CLI}
 * or {@code redis-server} / {@code redis-cli} on the PATH.
 *
 * <pre>try (RedisCluster c = RedisCluster.start(3)) { env.put("PAM_REDIS_URL", c.seedUrl()); env.put("PAM_REDIS_CLUSTER", "true"); … }</pre>
 */
public final class RedisCluster implements AutoCloseable {
    /** Redis Cluster's bus listens on the client port + 10000. */
    static final int BUS_OFFSET = 10_000;

    private final List<Integer> ports;
    private final List<Process> processes = new ArrayList<>();
    private final Path dir;

    private RedisCluster(List<Integer> ports, Path dir) {
        this.ports = List.copyOf(ports);
        this.dir = dir;
    }

    public static RedisCluster start(int masters) throws IOException, InterruptedException {
        if (masters < 3) {
            throw new IllegalArgumentException("redis-cli --cluster create needs at least 3 masters");
        }
        List<Integer> ports = new ArrayList<>();
        while (ports.size() < masters) {
            int p = clusterPort();
            if (!ports.contains(p)) {
                ports.add(p);
            }
        }
        RedisCluster c = new RedisCluster(ports, Files.createTempDirectory("pam-redis-cluster"));
        try {
            c.launch();
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** A free port whose bus port (+10000) is free as well. */
    static int clusterPort() throws IOException {
        for (int attempt = 0; attempt < 200; attempt++) {
            int p = ThreadLocalRandom.current().nextInt(20_000, 55_000);
            if (free(p) && free(p + BUS_OFFSET)) {
                return p;
            }
        }
        throw new IOException("no free port pair for a cluster node");
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    private void launch() throws IOException, InterruptedException {
        for (int port : ports) {
            Path nodeDir = Files.createDirectories(dir.resolve(Integer.toString(port)));
            List<String> cmd = List.of(RedisServer.binary(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--dir", nodeDir.toString(), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no", "--protected-mode", "yes");
            processes.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(nodeDir.resolve("redis.log").toFile()).start());
        }
        for (int i = 0; i < ports.size(); i++) {
            awaitListening(ports.get(i), processes.get(i));
        }
        List<String> create = new ArrayList<>(List.of(cli(), "--cluster", "create"));
        ports.forEach(p -> create.add("127.0.0.1:" + p));
        create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        String out = run(create, 60);
        if (!out.contains("All 16384 slots covered")) {
            throw new IllegalStateException("redis-cli --cluster create did not cover every slot:\n" + out);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int port : ports) {
            while (!run(List.of(cli(), "-p", Integer.toString(port), "cluster", "info"), 10).contains("cluster_state:ok")) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cluster node " + port + " did not reach cluster_state:ok");
                }
                Thread.sleep(50);
            }
        }
    }

    private static void awaitListening(int port, Process p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("redis-server (cluster node " + port + ") exited");
                }
                Thread.sleep(10);
            }
        }
        throw new IllegalStateException("cluster node did not listen on " + port);
    }

    static String cli() {
        String configured = System.getenv("PAM_REDIS_CLI");
        return configured != null && !configured.isBlank() ? configured : "redis-cli";
    }

    /** Runs a command, returns stdout + stderr; fails on a non-zero exit or after {@code seconds}. */
    static String run(List<String> cmd, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " did not finish");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + text);
        }
        return text;
    }

    /** A command on one node through {@code redis-cli} (e.g. {@code cluster keyslot k}); its raw output. */
    public String cli(int port, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(cli(), "-p", Integer.toString(port)));
        cmd.addAll(List.of(args));
        return run(cmd, 10).trim();
    }

    /** The client port of the master that serves {@code key}'s slot (asked with CLUSTER NODES). */
    public int portOf(String key) throws IOException, InterruptedException {
        int slot = Integer.parseInt(cli(ports.get(0), "cluster", "keyslot", key));
        for (String line : cli(ports.get(0), "cluster", "nodes").split("\n")) {
            String[] f = line.trim().split(" ");
            if (f.length < 9 || !f[2].contains("master")) {
                continue;
            }
            for (int i = 8; i < f.length; i++) {
                String[] range = f[i].split("-");
                if (range[0].startsWith("[")) {
                    continue; // a slot in migration
                }
                int lo = Integer.parseInt(range[0]);
                int hi = range.length > 1 ? Integer.parseInt(range[1]) : lo;
                if (slot >= lo && slot <= hi) {
                    return Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@')));
                }
            }
        }
        throw new IllegalStateException("no master serves slot " + slot);
    }

    /**
     * Moves the slot of {@code key} (and the keys in it) to the master on {@code toPort}, the way
     * a resharding does (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE on every master): clients with
     * the old slot map then get MOVED.
     */
    public void moveSlotOf(String key, int toPort) throws IOException, InterruptedException {
        int from = portOf(key);
        if (from == toPort) {
            return;
        }
        String slot = cli(from, "cluster", "keyslot", key);
        String fromId = cli(from, "cluster", "myid");
        String toId = cli(toPort, "cluster", "myid");
        cli(toPort, "cluster", "setslot", slot, "importing", fromId);
        cli(from, "cluster", "setslot", slot, "migrating", toId);
        String keys = cli(from, "cluster", "getkeysinslot", slot, "1000");
        for (String k : keys.split("\n")) {
            if (!k.isBlank()) {
                cli(from, "migrate", "127.0.0.1", Integer.toString(toPort), k.trim(), "0", "5000");
            }
        }
        // the new owner first, then the old one, then the rest (the order CLUSTER SETSLOT's documentation asks for)
        cli(toPort, "cluster", "setslot", slot, "node", toId);
        cli(from, "cluster", "setslot", slot, "node", toId);
        for (int p : ports) {
            if (p != toPort && p != from) {
                cli(p, "cluster", "setslot", slot, "node", toId);
            }
        }
    }

    public List<Integer> ports() {
        return ports;
    }

    /** A URL naming the first node, from which a cluster client discovers the others. */
    public String seedUrl() {
        return "redis://127.0.0.1:" + ports.get(0);
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }
}
