package io.inferencepam.runner.spi;

import java.util.Optional;

/**
 * The upstream response as APISIX described it in RPC_HTTP_RESP_CALL, after the changes of the
 * plugins that ran before this one. Header names keep the upstream's casing.
 *
 * @param body the upstream body (exact bytes; may be compressed), when a plugin of this conf declared it
 */
public record HttpResponse(long rpcId, int status, Headers headers, Vars vars, Optional<Body> body) {

    public Optional<String> var(String name) {
        return vars.get(name);
    }

    public HttpResponse apply(ResponseChange change) {
        Headers h = headers;
        for (var e : change.headers().entrySet()) {
            h = e.getValue() == null ? h.without(e.getKey()) : h.with(e.getKey(), e.getValue());
        }
        return new HttpResponse(rpcId, change.status().orElse(status), h, vars,
                change.body().isPresent() ? change.body() : body);
    }
}
