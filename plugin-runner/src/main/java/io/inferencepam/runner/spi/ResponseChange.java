package io.inferencepam.runner.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What a response-phase plugin changes. The runtime always sends APISIX a complete header set
 * (upstream headers minus hop-by-hop ones, with a correct content-length), so a plugin only names
 * what differs.
 *
 * @param headers header name → new value; null removes it
 */
public record ResponseChange(OptionalInt status, Map<String, String> headers, Optional<Body> body) {
    public static final ResponseChange NONE = new ResponseChange(OptionalInt.empty(), Map.of(), Optional.empty());

    public ResponseChange {
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    }

    public static CompletionStage<ResponseChange> unchanged() {
        return CompletableFuture.completedFuture(NONE);
    }

    /** Replace status, content type and body, e.g. with a safe error. */
    public static ResponseChange replace(int status, String contentType, Body body) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", contentType);
        h.put("Content-Encoding", null);
        return new ResponseChange(OptionalInt.of(status), h, Optional.of(body));
    }

    public static ResponseChange body(Body body) {
        return new ResponseChange(OptionalInt.empty(), Map.of(), Optional.of(body));
    }

    public ResponseChange withHeader(String name, String value) {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.put(name, value);
        return new ResponseChange(status, h, body);
    }
}
