package io.inferencepam.runner.control;

import io.inferencepam.runner.spi.ControlApi.Request;
import io.inferencepam.runner.spi.ControlApi.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Who may use the control API. Loopback alone is not enough: every container of a pod shares it,
 * and a browser on the same host can be made to send requests to it. So:
 * <ul>
 *   <li>the {@code Host} header must name loopback or the configured bind address (defeats DNS
 *       rebinding: a page cannot read responses under its own host name);</li>
 *   <li>everything but health and metrics needs {@code Authorization: Bearer <PAM_CONTROL_TOKEN>};
 *       without a configured token those endpoints are refused (fail closed);</li>
 *   <li>requests with a body must be {@code application/json} (a cross-site form or
 *       {@code text/plain} POST, which browsers send without a preflight, is refused).</li>
 * </ul>
 */
public final class ControlAccess {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ControlAccess.class);
    public static final String TOKEN_SETTING = "PAM_CONTROL_TOKEN";
    static final int MIN_TOKEN_LENGTH = 16;

    private final Optional<byte[]> token;
    private final Set<String> hosts;

    private ControlAccess(Optional<byte[]> token, Set<String> hosts) {
        this.token = token;
        this.hosts = hosts;
    }

    /**
     * @param token    the shared secret operators present; empty = only open endpoints are served
     * @param bindHost the address the server binds to, also accepted as a Host name
     */
    public static ControlAccess of(Optional<String> token, String bindHost) {
        Optional<String> t = token.filter(v -> !v.isBlank());
        if (t.isPresent() && t.get().length() < MIN_TOKEN_LENGTH) {
            // Guessable: serve as if unset (403 on protected endpoints) rather than take the runner,
            // and with it every route, down over an operator API setting.
            LOG.error("{} is shorter than {} characters: ignored, credential and audit endpoints answer 403",
                    TOKEN_SETTING, MIN_TOKEN_LENGTH);
            t = Optional.empty();
        }
        Set<String> hosts = new java.util.HashSet<>(Set.of("localhost", "127.0.0.1", "::1", "[::1]"));
        hosts.add(bindHost.toLowerCase(Locale.ROOT));
        return new ControlAccess(t.map(v -> v.getBytes(StandardCharsets.UTF_8)), Set.copyOf(hosts));
    }

    Optional<Response> check(Request request, boolean openPath) {
        String host = hostName(request.headers().first("host").orElse(""));
        if (!hosts.contains(host)) {
            return Optional.of(Response.error(421, "host_not_served", "host not served here"));
        }
        if (!request.body().isEmpty()) {
            String type = request.headers().first("content-type").orElse("").toLowerCase(Locale.ROOT);
            if (!type.startsWith("application/json")) {
                return Optional.of(Response.error(415, "unsupported_media_type", "send the body as application/json"));
            }
        }
        if (openPath) {
            return Optional.empty();
        }
        if (token.isEmpty()) {
            return Optional.of(Response.error(403, "control_token_not_configured",
                    "control API token not configured: set " + TOKEN_SETTING + " on the runner"));
        }
        String auth = request.headers().first("authorization").orElse("");
        byte[] presented = auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(presented, token.get())) {
            return Optional.of(Response.error(401, "invalid_token", "missing or wrong bearer token"));
        }
        return Optional.empty();
    }

    /** {@code host:port}, {@code [v6]:port} or a bare name → the lower-cased name. */
    static String hostName(String hostHeader) {
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(0, end + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon >= 0 && h.indexOf(':') == colon ? h.substring(0, colon) : h;
    }
}
