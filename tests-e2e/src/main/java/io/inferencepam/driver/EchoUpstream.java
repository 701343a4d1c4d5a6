package io.inferencepam.driver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP/1.1 server on a loopback port that stands in for the model server. It records each
 * request exactly as received (method, raw target, headers with case and order, body) and answers
 * with the next scripted {@link Response}, or by default with a JSON echo of the request:
 * {@code {"method","target","headers":[[name,value]…],"body_length","body_utf8"}}.
 *
 * <p>One request per connection, then the server closes it (and sends no {@code Connection}
 * header, so that none leaks into what the gateway forwards). The body of a request is read by its
 * {@code Content-Length}, or de-chunked: a body longer than its stated length is therefore cut,
 * like the recording upstream did in conformance C2.
 */
public final class EchoUpstream implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A scripted response. {@code chunks} non-empty → chunked transfer, one chunk per entry, {@code gap} between them. */
    public record Response(int status, List<HttpHeader> headers, byte[] body, List<byte[]> chunks, Duration gap) {
        public Response {
            headers = List.copyOf(headers);
            body = body == null ? new byte[0] : body;
            chunks = List.copyOf(chunks);
            gap = gap == null ? Duration.ZERO : gap;
        }

        public static Response of(int status, List<HttpHeader> headers, byte[] body) {
            return new Response(status, headers, body, List.of(), Duration.ZERO);
        }
    }

    /** A request as received, with the client port of the connection it came on and when that was accepted. */
    record Recorded(UpstreamRequest request, int remotePort, long acceptedNanos) {
    }

    /**
     * One of the driver's upstream connections: its local port, a time before it connected and one
     * after it closed. The port alone is ambiguous: the OS hands a closed connection's port out
     * again, so other calls can come from the same port before and after this one (matching by
     * port alone returned an earlier call's request). Connections from one port never overlap,
     * so ours is the last accepted from that port within the window.
     */
    record ClientConnection(int port, long beforeConnectNanos, long afterCloseNanos) {
    }

    private final ServerSocket server;
    private final ExecutorService workers;
    private final ConcurrentLinkedDeque<Response> script = new ConcurrentLinkedDeque<>();
    private final List<Recorded> recorded = Collections.synchronizedList(new ArrayList<>());
    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.Set<Integer> inFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile Response fallback;

    private EchoUpstream(ServerSocket server) {
        this.server = server;
        this.workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "echo-upstream");
            t.setDaemon(true);
            return t;
        });
        workers.execute(this::acceptLoop);
    }

    public static EchoUpstream start() throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        return new EchoUpstream(s);
    }

    public String host() {
        return server.getInetAddress().getHostAddress();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Scripts the next response (queued; each is used once, then the default applies again). */
    public EchoUpstream respondWith(int status, List<HttpHeader> headers, byte[] body) {
        script.add(Response.of(status, headers, body));
        return this;
    }

    public EchoUpstream respondWith(int status, List<HttpHeader> headers, String body) {
        return respondWith(status, headers, body.getBytes(StandardCharsets.UTF_8));
    }

    public EchoUpstream respondWith(Response response) {
        script.add(Objects.requireNonNull(response));
        return this;
    }

    /** A chunked response, e.g. an SSE stream: one chunk per element, {@code gap} between chunks. */
    public EchoUpstream respondChunked(int status, List<HttpHeader> headers, List<byte[]> chunks, Duration gap) {
        script.add(new Response(status, headers, null, chunks, gap));
        return this;
    }

    /** An SSE stream ({@code text/event-stream}, chunked), one event {@code data: <e>\n\n} per chunk. */
    public EchoUpstream respondSse(List<String> events, Duration gap) {
        List<byte[]> chunks = new ArrayList<>();
        for (String e : events) {
            chunks.add(("data: " + e + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
        return respondChunked(200, List.of(new HttpHeader("Content-Type", "text/event-stream"),
                new HttpHeader("Cache-Control", "no-cache")), chunks, gap);
    }

    /** Replaces the default (JSON echo) for every request not covered by the script; null restores the echo. */
    public EchoUpstream respondAlways(Response response) {
        this.fallback = response;
        return this;
    }

    /** Every request received so far, in arrival order. */
    public List<UpstreamRequest> requests() {
        synchronized (recorded) {
            return recorded.stream().map(Recorded::request).toList();
        }
    }

    /** Requests that came on the given connections (the driver's own): per connection, those on the last connection from its port accepted within its window. */
    List<UpstreamRequest> requestsFrom(List<ClientConnection> connections) {
        List<Integer> ports = connections.stream().map(ClientConnection::port).toList();
        long deadline = System.nanoTime() + 2_000_000_000L;
        // a connection the client just closed may still be being read: wait for it to be recorded
        while (ports.stream().anyMatch(inFlight::contains) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        synchronized (recorded) {
            List<UpstreamRequest> out = new ArrayList<>();
            for (ClientConnection c : connections) {
                long accepted = -1;
                for (Recorded r : recorded) {
                    if (r.remotePort() == c.port() && r.acceptedNanos() >= c.beforeConnectNanos()
                            && r.acceptedNanos() <= c.afterCloseNanos()) {
                        accepted = Math.max(accepted, r.acceptedNanos());
                    }
                }
                for (Recorded r : recorded) {
                    if (r.remotePort() == c.port() && r.acceptedNanos() == accepted) {
                        out.add(r.request());
                    }
                }
            }
            return out;
        }
    }

    public void clear() {
        recorded.clear();
        script.clear();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                long acceptedNanos = System.nanoTime();
                open.add(s);
                inFlight.add(s.getPort());
                workers.execute(() -> {
                    try {
                        serve(s, acceptedNanos);
                    } finally {
                        open.remove(s);
                        inFlight.remove(s.getPort());
                    }
                });
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            } catch (java.util.concurrent.RejectedExecutionException e) {
                return;
            }
        }
    }

    private void serve(Socket s, long acceptedNanos) {
        try (s) {
            s.setSoTimeout(120_000);
            InputStream in = new BufferedInputStream(s.getInputStream());
            String requestLine = HttpWire.readLine(in);
            if (requestLine == null) {
                return;
            }
            String[] parts = requestLine.split(" ", 3);
            if (parts.length < 3) {
                return;
            }
            List<HttpHeader> headers = HttpWire.readHeaders(in);
            byte[] body;
            String cl = HttpWire.first(headers, "content-length");
            if (HttpWire.isChunked(headers)) {
                body = HttpWire.readChunked(in);
            } else if (cl != null) {
                body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16, Long.parseLong(cl.trim())));
            } else {
                body = new byte[0];
            }
            UpstreamRequest req = new UpstreamRequest(parts[0], parts[1], headers, body);
            recorded.add(new Recorded(req, s.getPort(), acceptedNanos));
            if (cl != null && body.length < Long.parseLong(cl.trim())) {
                return; // the client gave up before sending the promised body (C2b): recorded as received
            }
            Response r = script.poll();
            if (r == null) {
                r = fallback != null ? fallback : echo(req);
            }
            write(s.getOutputStream(), r, parts[0].equals("HEAD"));
        } catch (SocketException e) {
            // client went away
        } catch (IOException | RuntimeException e) {
            // malformed or timed-out request: nothing recorded, connection closed
        }
    }

    private static Response echo(UpstreamRequest req) {
        ObjectNode o = JSON.createObjectNode();
        o.put("method", req.method());
        o.put("target", req.target());
        ArrayNode hs = o.putArray("headers");
        for (HttpHeader h : req.headers()) {
            hs.addArray().add(h.name()).add(h.value());
        }
        o.put("body_length", req.body().length);
        o.put("body_utf8", new String(req.body(), StandardCharsets.UTF_8));
        byte[] body = o.toString().getBytes(StandardCharsets.UTF_8);
        return Response.of(200, List.of(new HttpHeader("Content-Type", "application/json")), body);
    }

    private static void write(OutputStream out, Response r, boolean head) throws IOException {
        StringBuilder sb = new StringBuilder("HTTP/1.1 ").append(r.status()).append(' ').append(reason(r.status())).append("\r\n");
        for (HttpHeader h : r.headers()) {
            sb.append(h.name()).append(": ").append(h.value()).append("\r\n");
        }
        boolean noBody = r.status() == 204 || r.status() == 304 || r.status() < 200;
        boolean chunked = !r.chunks().isEmpty();
        boolean hasLength = HttpWire.first(r.headers(), "content-length") != null;
        if (chunked) {
            sb.append("Transfer-Encoding: chunked\r\n");
        } else if (!noBody && !hasLength) {
            sb.append("Content-Length: ").append(r.body().length).append("\r\n");
        }
        sb.append("\r\n");
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        if (head || noBody) {
            return;
        }
        if (!chunked) {
            out.write(r.body());
            out.flush();
            return;
        }
        for (int i = 0; i < r.chunks().size(); i++) {
            if (i > 0 && !r.gap().isZero()) {
                try {
                    Thread.sleep(r.gap().toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            byte[] c = r.chunks().get(i);
            out.write((Integer.toHexString(c.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(c);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 202 -> "Accepted";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
        workers.shutdownNow();
        try {
            workers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
