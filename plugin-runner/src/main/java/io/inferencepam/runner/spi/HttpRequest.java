package io.inferencepam.runner.spi;

import java.util.Optional;

/**
 * The request as APISIX described it in RPC_HTTP_REQ_CALL, after the rewrites of the plugins that
 * ran before this one. Header names are lower-case. APISIX puts only the first 100 headers in the
 * call: read security-relevant headers through {@link #vars()} ({@code http_authorization}), never
 * through {@link #headers()} alone.
 *
 * @param rpcId     per-RPC id (debugging only; not shared with the response phase)
 * @param method    HTTP method name, upper-case
 * @param path      decoded path without query
 * @param args      query arguments, percent-decoded, repeated names as repeated entries
 * @param headers   request headers (first 100 only)
 * @param sourceIp  client address as text (IPv4 or IPv6)
 * @param vars      the vars this conf's plugins declared
 * @param body      the request body, when a plugin of this conf declared it
 */
public record HttpRequest(
        long rpcId,
        String method,
        String path,
        Headers args,
        Headers headers,
        String sourceIp,
        Vars vars,
        Optional<Body> body) {

    /** The value of an nginx var, empty when APISIX said it is missing. */
    public Optional<String> var(String name) {
        return vars.get(name);
    }

    /** This request with a rewrite applied: what the next plugin (and the upstream) sees. */
    public HttpRequest apply(RequestRewrite rewrite) {
        if (rewrite.isEmpty()) {
            return this;
        }
        Headers h = headers;
        for (var e : rewrite.headers().entrySet()) {
            h = e.getValue() == null ? h.without(e.getKey()) : h.with(e.getKey(), e.getValue());
        }
        Headers a = args;
        for (var e : rewrite.args().entrySet()) {
            a = e.getValue().isEmpty() ? a.without(e.getKey()) : a.with(e.getKey(), e.getValue());
        }
        Vars v = vars;
        return new HttpRequest(rpcId, method, rewrite.path().orElse(path), a, h, sourceIp, v,
                rewrite.body().isPresent() ? rewrite.body() : body);
    }
}
