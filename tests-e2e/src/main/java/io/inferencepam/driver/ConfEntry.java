package io.inferencepam.driver;

import java.util.Objects;

/**
 * One {@code {"name": ..., "value": ...}} entry of an APISIX {@code ext-plugin-*} {@code conf} array.
 * APISIX passes both verbatim in PrepareConf (conformance: every scenario's first frame).
 */
public record ConfEntry(String name, String value) {
    public ConfEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
    }
}
