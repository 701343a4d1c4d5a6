package io.inferencepam.pam.approval;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/** A real local HTTP server standing in for a webhook endpoint: records what it receives, answers as scripted. */
final class WebhookReceiver implements AutoCloseable {
    record Received(String path, Map<String, List<String>> headers, String body, long atNanos) {
        String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    }

    private final HttpServer server;
    final List<Received> received = new CopyOnWriteArrayList<>();
    /** Per path: statuses to answer, in order; then 200 (or {@link #always}). */
    private final Map<String, ConcurrentLinkedQueue<Integer>> script = new ConcurrentHashMap<>();
    private final Map<String, Integer> always = new ConcurrentHashMap<>();

    WebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                received.add(new Received(path, Map.copyOf(ex.getRequestHeaders()),
                        new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), System.nanoTime()));
                Integer next = script.getOrDefault(path, new ConcurrentLinkedQueue<>()).poll();
                int status = next != null ? next : always.getOrDefault(path, 200);
                ex.sendResponseHeaders(status, -1);
            }
        });
        server.start();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    void script(String path, Integer... statuses) {
        script.computeIfAbsent(path, p -> new ConcurrentLinkedQueue<>()).addAll(List.of(statuses));
    }

    void always(String path, int status) {
        always.put(path, status);
    }

    List<Received> at(String path, String approvalId) {
        List<Received> out = new ArrayList<>();
        for (Received r : received) {
            if (r.path().equals(path) && r.body().contains(approvalId)) {
                out.add(r);
            }
        }
        return out;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
