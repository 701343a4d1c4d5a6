package io.inferencepam.runner.spi;

import java.util.ArrayList;
import java.util.List;

/**
 * A final answer to the client: the upstream is not called and no later plugin runs.
 *
 * @param status  HTTP status (APISIX turns 0 into 200)
 * @param headers response headers (APISIX lower-cases names and drops empty values)
 * @param body    response body
 */
public record Stop(int status, Headers headers, Body body) {
    public Stop {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("status out of range: " + status);
        }
        headers.entries().forEach(h -> HeaderText.check(h.name(), h.value()));
    }

    /**
     * An OpenAI-style JSON error ({@code {"error":{"message","type","code"}}}), the shape SDK clients
     * display. {@code extraHeaders} are name/value pairs (e.g. {@code WWW-Authenticate}).
     */
    public static Stop openAiError(int status, String type, String code, String message, String... extraHeaders) {
        List<Header> h = new ArrayList<>();
        h.add(new Header("content-type", "application/json"));
        for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
            h.add(new Header(extraHeaders[i], extraHeaders[i + 1]));
        }
        return new Stop(status, Headers.of(h), Body.utf8(OpenAiError.json(type, code, message)));
    }
}
