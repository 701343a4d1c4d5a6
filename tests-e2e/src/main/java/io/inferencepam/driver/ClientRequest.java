package io.inferencepam.driver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The HTTP request a client sends to the gateway: method, raw request target (path and query as on
 * the wire), headers in wire order with their case, an optional body and the client address.
 * Without a {@code Host} header the driver adds {@code Host: gateway.test} (HTTP/1.1 requires one).
 */
public record ClientRequest(String method, String target, List<HttpHeader> headers, byte[] body, String remoteAddr) {

    public ClientRequest {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(target, "target");
        headers = List.copyOf(headers);
        Objects.requireNonNull(remoteAddr, "remoteAddr");
    }

    public static Builder builder(String method, String target) {
        return new Builder(method, target);
    }

    /** The body, or null when the request has none. */
    @Override
    public byte[] body() {
        return body;
    }

    public static final class Builder {
        private final String method;
        private final String target;
        private final List<HttpHeader> headers = new ArrayList<>();
        private byte[] body;
        private String remoteAddr = "127.0.0.1";

        private Builder(String method, String target) {
            this.method = method;
            this.target = target;
        }

        /** Adds a header line; call twice for a repeated header. */
        public Builder header(String name, String value) {
            headers.add(new HttpHeader(name, value));
            return this;
        }

        public Builder body(byte[] bytes) {
            this.body = bytes == null ? null : bytes.clone();
            return this;
        }

        /** UTF-8 encoded. */
        public Builder body(String text) {
            this.body = text == null ? null : text.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        /** The client's IP address literal (IPv4 or IPv6); default 127.0.0.1. */
        public Builder remoteAddr(String addr) {
            this.remoteAddr = addr;
            return this;
        }

        public ClientRequest build() {
            return new ClientRequest(method, target, headers, body, remoteAddr);
        }
    }
}
