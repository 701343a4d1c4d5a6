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
    /**
     * The APISIX var holding the request target exactly as the client sent it, which is what the
     * upstream receives (nginx {@code proxy_pass} with an empty {@code $upstream_uri} forwards the
     * unparsed request URI). Not {@code request_uri}: APISIX 3.18 {@code init.lua}
     * ({@code http_access_phase}) saves nginx's raw {@code $request_uri} as {@code real_request_uri}
     * and replaces {@code request_uri} with the normalised {@code uri .. is_args .. args} before any
     * plugin runs, so {@code request_uri} can never show an encoded path. Every plugin that needs the
     * raw target asks this one name; a call where APISIX does not answer it is refused.
     */
    public static final String RAW_TARGET_VAR = "real_request_uri";

    private CanonicalPath() {
    }

    /**
     * The problem with the raw path, or empty when it is canonical.
     *
     * @param rawRequestUri the raw target ({@link #RAW_TARGET_VAR}), query included or not
     * @param decodedPath   nginx's normalised path ({@code $uri}, the call frame's path)
     */
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
