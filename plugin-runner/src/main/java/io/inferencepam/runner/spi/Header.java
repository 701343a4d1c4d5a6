package io.inferencepam.runner.spi;

import java.util.Objects;

/** One header or query-argument entry. {@code value} is null for a bare {@code ?flag} arg. */
public record Header(String name, String value) {
    public Header {
        Objects.requireNonNull(name, "name");
    }
}
