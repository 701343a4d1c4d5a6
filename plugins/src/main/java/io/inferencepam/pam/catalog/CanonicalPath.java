package io.inferencepam.pam.catalog;

import java.util.Optional;

/**
 * Refuses request paths that could mean one thing to the gateway and another to the model server.
 * A path that passes is plain ASCII with no percent-encoding, no dot segments, no empty segments,
 * no backslashes and no {@code ;} parameters, and is byte-for-byte what nginx decoded it to: so
 * {@code /v2/models/a%2Fb/infer}, {@code /v2/models/x/../y}, {@code //v1/chat} or a double-encoded
 * {@code %252e} never reach policy with a meaning that differs from the upstream's.
 */
public final class CanonicalPath {
    private CanonicalPath() {
    }

    /** The problem with the raw path, or empty when it is canonical. */
    public static Optional<String> problem(String rawRequestUri, String decodedPath) {
        int q = rawRequestUri.indexOf('?');
        String raw = q < 0 ? rawRequestUri : rawRequestUri.substring(0, q);
        if (raw.isEmpty() || raw.charAt(0) != '/') {
            return Optional.of("the path must start with '/'");
        }
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                return Optional.of("percent-encoded characters are not allowed in the path");
            }
            if (c == '\\' || c == ';' || c <= 0x20 || c >= 0x7f) {
                return Optional.of("the path contains a character that is not allowed");
            }
        }
        int start = 1;
        while (start <= raw.length()) {
            int end = raw.indexOf('/', start);
            if (end < 0) {
                end = raw.length();
            }
            String segment = raw.substring(start, end);
            if (segment.equals(".") || segment.equals("..")) {
                return Optional.of("dot segments are not allowed in the path");
            }
            if (segment.isEmpty() && end < raw.length()) {
                return Optional.of("empty path segments are not allowed");
            }
            start = end + 1;
        }
        if (!raw.equals(decodedPath)) {
            return Optional.of("the path is not in canonical form");
        }
        return Optional.empty();
    }
}
