package io.inferencepam.driver;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/** A request as the upstream received it: method, raw target, headers (wire order, exact case), body bytes. */
public record UpstreamRequest(String method, String target, List<HttpHeader> headers, byte[] body) {
    public UpstreamRequest {
        headers = List.copyOf(headers);
        body = body == null ? new byte[0] : body;
    }

    /** First value of a header, case-insensitive. */
    public Optional<String> header(String name) {
        return headers.stream().filter(h -> h.is(name)).map(HttpHeader::value).findFirst();
    }

    public List<String> headerValues(String name) {
        return headers.stream().filter(h -> h.is(name)).map(HttpHeader::value).toList();
    }

    public String bodyUtf8() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
