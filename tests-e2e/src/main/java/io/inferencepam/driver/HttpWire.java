package io.inferencepam.driver;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Minimal HTTP/1.1 message reading shared by {@link EchoUpstream} and the driver's upstream client.
 * Raw on purpose: the driver must control Host and Content-Length exactly (conformance C2/C2b send a
 * stale Content-Length), which no HTTP client library allows.
 */
final class HttpWire {
    private static final int MAX_LINE = 64 * 1024;
    private static final int MAX_HEADERS = 1000;

    private HttpWire() {
    }

    /** Reads a CRLF (or LF) terminated line as ISO-8859-1; null at a clean EOF before any byte. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                byte[] b = buf.toByteArray();
                int len = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                return new String(b, 0, len, StandardCharsets.ISO_8859_1);
            }
            buf.write(c);
            if (buf.size() > MAX_LINE) {
                throw new IOException("header line too long");
            }
        }
        if (buf.size() == 0) {
            return null;
        }
        throw new EOFException("connection closed inside a line");
    }

    /** Header lines up to the empty line; names keep their case, values are trimmed (RFC 9112 §5). */
    static List<HttpHeader> readHeaders(InputStream in) throws IOException {
        List<HttpHeader> headers = new ArrayList<>();
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("malformed header line");
            }
            headers.add(new HttpHeader(line.substring(0, colon), line.substring(colon + 1).trim()));
            if (headers.size() > MAX_HEADERS) {
                throw new IOException("too many headers");
            }
        }
        if (line == null) {
            throw new EOFException("connection closed inside the header block");
        }
        return headers;
    }

    static String first(List<HttpHeader> headers, String name) {
        for (HttpHeader h : headers) {
            if (h.is(name)) {
                return h.value();
            }
        }
        return null;
    }

    static boolean isChunked(List<HttpHeader> headers) {
        String te = first(headers, "transfer-encoding");
        return te != null && te.toLowerCase(java.util.Locale.ROOT).contains("chunked");
    }

    static byte[] readExactly(InputStream in, long n) throws IOException {
        if (n > Integer.MAX_VALUE - 16) {
            throw new IOException("body too large");
        }
        byte[] b = in.readNBytes((int) n);
        if (b.length < n) {
            throw new EOFException("body ended after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    /** De-chunks a chunked body (trailers are read and dropped). */
    static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine(in);
            if (sizeLine == null) {
                throw new EOFException("connection closed before the last chunk");
            }
            int semi = sizeLine.indexOf(';');
            long size = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            if (size == 0) {
                String trailer;
                while ((trailer = readLine(in)) != null && !trailer.isEmpty()) {
                    // trailers ignored
                }
                return out.toByteArray();
            }
            out.write(readExactly(in, size));
            readLine(in);
        }
    }
}
