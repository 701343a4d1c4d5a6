package io.inferencepam.runner.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The recorded runner of one conformance scenario, on a real Unix socket: each frame the driver
 * sends must be the next recorded APISIX→runner frame type; the recorded runner→APISIX frames that
 * followed it are then written back byte for byte on the same connection. This is the harness for
 * checking the driver against APISIX (tests (a) and (c)); the real runner is checked separately.
 */
final class ReplayRunner implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Path socket;
    private final java.util.Map<SocketChannel, Thread> connections = new ConcurrentHashMap<>();
    private final List<String> problems = new ArrayList<>();
    private List<JsonNode> frames = List.of();
    private int cursor;
    private boolean closeOnCall;

    ReplayRunner(Path socket) throws IOException {
        this.socket = socket;
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(this::acceptLoop, "replay-runner");
        t.setDaemon(true);
        t.start();
    }

    synchronized void script(List<JsonNode> requestFrames, boolean closeAfterCall) {
        this.frames = requestFrames;
        this.cursor = 0;
        this.closeOnCall = closeAfterCall;
    }

    synchronized boolean consumedAll() {
        return cursor == frames.size();
    }

    synchronized List<String> problems() {
        return List.copyOf(problems);
    }

    /** Drops every connection, as a runner restart does (R7c). */
    void restart() throws IOException {
        for (var e : connections.entrySet()) {
            e.getKey().close();
            try {
                e.getValue().join(2000); // the fd is really closed only when the blocked reader has left
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
        connections.clear();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                Thread t = new Thread(() -> serve(c), "replay-conn");
                t.setDaemon(true);
                connections.put(c, t);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            while (true) {
                ByteBuffer header = ByteBuffer.allocate(4);
                if (!fill(c, header)) {
                    return;
                }
                int type = header.get(0) & 0xFF;
                int len = ((header.get(1) & 0xFF) << 16) | ((header.get(2) & 0xFF) << 8) | (header.get(3) & 0xFF);
                if (!fill(c, ByteBuffer.allocate(len))) {
                    return;
                }
                List<byte[]> replies = new ArrayList<>();
                boolean close;
                synchronized (this) {
                    if (cursor >= frames.size() || !Recording.isApisixToRunner(frames.get(cursor))
                            || frames.get(cursor).get("type").asInt() != type) {
                        problems.add("unexpected frame type " + type + " at position " + cursor);
                        return;
                    }
                    cursor++;
                    while (cursor < frames.size() && !Recording.isApisixToRunner(frames.get(cursor))) {
                        replies.add(HexFormat.of().parseHex(frames.get(cursor).get("hex").asText()));
                        cursor++;
                    }
                    close = closeOnCall && type == 2 && replies.isEmpty();
                }
                for (byte[] r : replies) {
                    c.write(ByteBuffer.wrap(r));
                }
                if (close) {
                    return; // R14: the runner closes the socket without answering
                }
            }
        } catch (IOException e) {
            // connection gone
        } finally {
            connections.remove(c);
        }
    }

    private static boolean fill(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        server.close();
        restart();
        Files.deleteIfExists(socket);
    }
}
