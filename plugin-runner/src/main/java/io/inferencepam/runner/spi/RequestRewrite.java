package io.inferencepam.runner.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Changes a request-phase plugin asks APISIX to apply before proxying ({@code Rewrite} action).
 *
 * @param path        new decoded path without '?' (APISIX percent-encodes '?' and '%' again)
 * @param headers     request header name (lower-case) → new value; a null value removes it
 * @param args        query arg name → new values; an empty list removes the arg
 * @param respHeaders headers added to the client response
 * @param body        a new request body (APISIX ≥ 3.6)
 */
public record RequestRewrite(
        Optional<String> path,
        Map<String, String> headers,
        Map<String, List<String>> args,
        Headers respHeaders,
        Optional<Body> body) {

    public static final RequestRewrite NONE =
            new RequestRewrite(Optional.empty(), Map.of(), Map.of(), Headers.empty(), Optional.empty());

    public RequestRewrite {
        path.ifPresent(p -> {
            if (p.indexOf('?') >= 0) {
                throw new IllegalArgumentException("Rewrite.path must not carry a query; use args");
            }
        });
        headers.forEach(HeaderText::check);
        respHeaders.entries().forEach(h -> HeaderText.check(h.name(), h.value()));
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        args = Collections.unmodifiableMap(new LinkedHashMap<>(args));
    }

    public boolean isEmpty() {
        return path.isEmpty() && headers.isEmpty() && args.isEmpty() && respHeaders.isEmpty() && body.isEmpty();
    }

    /** {@code later} applied on top of this: later values win per name. */
    public RequestRewrite then(RequestRewrite later) {
        if (isEmpty()) {
            return later;
        }
        if (later.isEmpty()) {
            return this;
        }
        Map<String, String> h = new LinkedHashMap<>(headers);
        later.headers.forEach((k, v) -> {
            h.remove(k);
            h.put(k, v);
        });
        Map<String, List<String>> a = new LinkedHashMap<>(args);
        later.args.forEach((k, v) -> {
            a.remove(k);
            a.put(k, v);
        });
        List<Header> rh = new java.util.ArrayList<>(respHeaders.entries());
        rh.addAll(later.respHeaders.entries());
        return new RequestRewrite(later.path.isPresent() ? later.path : path, h, a, Headers.of(rh),
                later.body.isPresent() ? later.body : body);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Mutable builder, confined to the plugin that uses it. */
    public static final class Builder {
        private Optional<String> path = Optional.empty();
        private final Map<String, String> headers = new LinkedHashMap<>();
        private final Map<String, List<String>> args = new LinkedHashMap<>();
        private final List<Header> respHeaders = new java.util.ArrayList<>();
        private Optional<Body> body = Optional.empty();

        public Builder path(String decodedPath) {
            this.path = Optional.of(decodedPath);
            return this;
        }

        public Builder setHeader(String name, String value) {
            headers.put(Headers.lower(name), value);
            return this;
        }

        public Builder removeHeader(String name) {
            headers.put(Headers.lower(name), null);
            return this;
        }

        public Builder setArg(String name, String... values) {
            args.put(name, List.of(values));
            return this;
        }

        public Builder removeArg(String name) {
            args.put(name, List.of());
            return this;
        }

        public Builder addResponseHeader(String name, String value) {
            respHeaders.add(new Header(name, value));
            return this;
        }

        public Builder body(Body newBody) {
            this.body = Optional.of(newBody);
            return this;
        }

        public RequestRewrite build() {
            return new RequestRewrite(path, headers, args, Headers.of(respHeaders), body);
        }
    }
}
