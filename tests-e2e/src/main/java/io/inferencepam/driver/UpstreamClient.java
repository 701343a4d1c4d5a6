package io.inferencepam.driver;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A raw HTTP/1.1 client: writes the request line, exactly the given headers and the whole body
 * (even when a stale Content-Length says otherwise, conformance C2), reads one response.
 */
final class UpstreamClient {

    record Response(int status, List<HttpHeader> headers, byte[] body, int localPort) {
    }

    /** The upstream did not answer in time (APISIX: "failed to request: timeout" → 502, C2b). */
    static final class UpstreamTimeout extends IOException {
        UpstreamTimeout() {
            super("timeout");
        }
    }

    private UpstreamClient() {
    }

    static Response send(String host, int port, String method, String target, List<HttpHeader> headers, byte[] body,
                         Duration timeout, java.util.function.IntConsumer onConnected) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            onConnected.accept(s.getLocalPort());
            s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())));
            StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
            for (HttpHeader h : headers) {
                head.append(h.name()).append(": ").append(h.value()).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.UTF_8));
            if (body != null) {
                out.write(body);
            }
            out.flush();
            InputStream in = new BufferedInputStream(s.getInputStream());
            String statusLine;
            List<HttpHeader> respHeaders;
            do {
                statusLine = HttpWire.readLine(in);
                if (statusLine == null) {
                    throw new IOException("upstream closed the connection");
                }
                respHeaders = HttpWire.readHeaders(in);
            } while (statusLine.split(" ")[1].startsWith("1")); // skip 100 Continue
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            byte[] respBody;
            boolean noBody = method.equals("HEAD") || status == 204 || status == 304;
            String cl = HttpWire.first(respHeaders, "content-length");
            if (noBody) {
                respBody = new byte[0];
            } else if (HttpWire.isChunked(respHeaders)) {
                respBody = HttpWire.readChunked(in);
            } else if (cl != null) {
                respBody = HttpWire.readExactly(in, Long.parseLong(cl.trim()));
            } else {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                in.transferTo(all);
                respBody = all.toByteArray();
            }
            return new Response(status, respHeaders, respBody, s.getLocalPort());
        } catch (SocketTimeoutException e) {
            throw new UpstreamTimeout();
        }
    }
}
