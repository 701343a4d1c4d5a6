package io.inferencepam.driver;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** URI encoding and decoding the way nginx/APISIX do it (each method names its source). */
final class NginxText {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private NginxText() {
    }

    /**
     * APISIX's {@code core.utils.uri_safe_encode}, applied to {@code Rewrite.path}: keeps RFC 3986
     * unreserved and reserved sub-delimiter characters and {@code /}, percent-encodes everything
     * else — including {@code ?} and {@code %} (conformance R5: {@code ?from=} → {@code %3Ffrom=};
     * R5b: {@code "a b/é/%2F/x?q=1 2"} → {@code a%20b/%C3%A9/%252F/x%3Fq=1%202}).
     */
    static String uriSafeEncode(String path) {
        StringBuilder sb = new StringBuilder();
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (isUnreserved(c) || "!$&'()*+,;=:@/".indexOf(c) >= 0) {
                sb.append((char) c);
            } else {
                sb.append('%').append(HEX[c >> 4]).append(HEX[c & 15]);
            }
        }
        return sb.toString();
    }

    /** {@code ngx.escape_uri} (component mode) as used by {@code ngx.encode_args} for rewritten args. */
    static String escapeComponent(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (isUnreserved(c)) {
                sb.append((char) c);
            } else {
                sb.append('%').append(HEX[c >> 4]).append(HEX[c & 15]);
            }
        }
        return sb.toString();
    }

    private static boolean isUnreserved(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                || c == '_' || c == '~';
    }

    /** {@code ngx.unescape_uri}: %XX decoded, {@code +} → space in query components, invalid escapes kept. */
    static String unescape(String s, boolean plusIsSpace) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            int c = in[i];
            if (c == '%' && i + 2 < in.length && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
                out.write(hex(in[i + 1]) * 16 + hex(in[i + 2]));
                i += 2;
            } else if (c == '+' && plusIsSpace) {
                out.write(' ');
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int hex(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    /**
     * {@code ngx.req.get_uri_args()} (no limit; conformance R11 shows 120 args): {@code &}-separated,
     * percent-decoded; a bare {@code flag} has no value, {@code empty=} has value {@code ""} (R1).
     */
    static List<A6Client.Entry> parseArgs(String query) {
        List<A6Client.Entry> out = new ArrayList<>();
        if (query == null || query.isEmpty()) {
            return out;
        }
        for (String part : query.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                out.add(new A6Client.Entry(unescape(part, true), null));
            } else if (eq > 0) {
                out.add(new A6Client.Entry(unescape(part.substring(0, eq), true), unescape(part.substring(eq + 1), true)));
            }
        }
        return out;
    }

    /** {@code ngx.encode_args}: a value-less entry becomes a bare name, {@code ""} becomes {@code name=} (R5c). */
    static String encodeArgs(List<A6Client.Entry> args) {
        StringBuilder sb = new StringBuilder();
        for (A6Client.Entry e : args) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(escapeComponent(e.name()));
            if (e.value() != null) {
                sb.append('=').append(escapeComponent(e.value()));
            }
        }
        return sb.toString();
    }

    /** nginx's {@code $uri}: the path percent-decoded, {@code //} merged, dot segments resolved. */
    static String normalizePath(String rawPath) {
        String decoded = unescape(rawPath, false);
        List<String> segs = new ArrayList<>();
        for (String s : decoded.split("/", -1)) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (!segs.isEmpty()) {
                    segs.remove(segs.size() - 1);
                }
                continue;
            }
            segs.add(s);
        }
        String joined = "/" + String.join("/", segs);
        if (decoded.endsWith("/") && !joined.endsWith("/")) {
            joined += "/";
        }
        return joined;
    }
}
