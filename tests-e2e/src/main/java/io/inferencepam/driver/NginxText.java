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

    /**
     * nginx's {@code $uri} for a raw request path (the target before its first {@code ?}), as
     * {@code ngx_http_parse_complex_uri} (src/http/ngx_http_parse.c) builds it with
     * {@code merge_slashes on} (nginx's default; APISIX's template leaves it): empty when nginx
     * refuses the request line with 400 before any phase runs. The rules relied on:
     * <ul>
     * <li>{@code %XX} is decoded and the decoded byte is then read as if it had been sent plain, so
     *     {@code %2F} is a {@code /} that merges and ends a segment, {@code %2e} a {@code .} that
     *     forms dot segments; except a decoded {@code %}, {@code ?} or {@code #}, which is kept as
     *     a literal byte (so {@code %252e} decodes once, to {@code %2e}).</li>
     * <li>a {@code %} not followed by two hex digits, or {@code %00}, is refused (400).</li>
     * <li>{@code //} merges; a {@code .} segment is dropped; a {@code ..} segment removes the
     *     segment before it, and one that would climb above the root is refused (400). A trailing
     *     {@code /.} or {@code /..} leaves the trailing {@code /}.</li>
     * <li>a raw {@code #} ends the path (a fragment); {@code +} and {@code ;} are ordinary bytes.</li>
     * <li>a control byte, space or DEL, or a path not starting with {@code /}, is refused by the
     *     request-line parser before that (400).</li>
     * </ul>
     * The result is the decoded bytes read as UTF-8 (nginx keeps bytes; invalid UTF-8 becomes U+FFFD here).
     */
    static java.util.Optional<String> normalizePath(String rawPath) {
        byte[] in = rawPath.getBytes(StandardCharsets.UTF_8);
        if (in.length == 0 || in[0] != '/') {
            return java.util.Optional.empty();
        }
        PathBuilder out = new PathBuilder(in.length);
        for (int i = 0; i < in.length; i++) {
            int c = in[i] & 0xFF;
            if (c <= 0x20 || c == 0x7f) {
                return java.util.Optional.empty();
            }
            if (c == '#') {
                break;
            }
            if (c == '%') {
                int hi = i + 1 < in.length ? hex(in[i + 1]) : -1;
                int lo = i + 2 < in.length ? hex(in[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    return java.util.Optional.empty();
                }
                i += 2;
                int decoded = hi * 16 + lo;
                if (decoded == 0) {
                    return java.util.Optional.empty();
                }
                if (decoded == '%' || decoded == '?' || decoded == '#') {
                    out.literal(decoded);
                    continue;
                }
                c = decoded;
            }
            if (!out.accept(c)) {
                return java.util.Optional.empty();
            }
        }
        return out.finish() ? java.util.Optional.of(out.text()) : java.util.Optional.empty();
    }

    /** The output side of {@link #normalizePath}: the segment state and the bytes written so far. */
    private static final class PathBuilder {
        private enum State { USUAL, SLASH, DOT, DOT_DOT }

        private final byte[] buf;
        private int len;
        private State state = State.USUAL;

        PathBuilder(int capacity) {
            buf = new byte[capacity];
        }

        /** A byte kept as is whatever it is (a decoded {@code %}, {@code ?} or {@code #}). */
        void literal(int c) {
            buf[len++] = (byte) c;
            state = State.USUAL;
        }

        /** One path byte (sent plain or decoded); false when a {@code ..} climbs above the root. */
        boolean accept(int c) {
            switch (state) {
                case SLASH:
                    if (c == '/') {
                        return true; // merge_slashes
                    }
                    buf[len++] = (byte) c;
                    state = c == '.' ? State.DOT : State.USUAL;
                    return true;
                case DOT:
                    if (c == '/') {
                        len--; // "/./" → "/"
                        state = State.SLASH;
                        return true;
                    }
                    buf[len++] = (byte) c;
                    state = c == '.' ? State.DOT_DOT : State.USUAL;
                    return true;
                case DOT_DOT:
                    if (c == '/') {
                        state = State.SLASH;
                        return climb();
                    }
                    buf[len++] = (byte) c;
                    state = State.USUAL;
                    return true;
                default:
                    buf[len++] = (byte) c;
                    if (c == '/') {
                        state = State.SLASH;
                    }
                    return true;
            }
        }

        /** End of the path: a trailing "/." or "/.." resolves as if a "/" followed. */
        boolean finish() {
            if (state == State.DOT) {
                len--;
                return true;
            }
            return state != State.DOT_DOT || climb();
        }

        /** Written so far ends in "/seg/..": cut back to just after the "/" before "seg"; false above the root. */
        private boolean climb() {
            int u = len - 4;
            while (true) {
                if (u < 0) {
                    return false;
                }
                if (buf[u] == '/') {
                    len = u + 1;
                    return true;
                }
                u--;
            }
        }

        String text() {
            return new String(buf, 0, len, StandardCharsets.UTF_8);
        }
    }
}
