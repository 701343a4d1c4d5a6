package io.inferencepam.runner.spi;

import java.util.Map;
import java.util.Optional;

/**
 * nginx/APISIX variables fetched for this call. APISIX distinguishes a missing var (no
 * {@code result} field) from an empty one (zero-length result): so does this type.
 */
public final class Vars {
    private static final Vars EMPTY = new Vars(Map.of());
    private final Map<String, String> values;

    private Vars(Map<String, String> values) {
        this.values = values;
    }

    /** {@code values} maps each present var to its value; absent vars are simply not keys. */
    public static Vars of(Map<String, String> values) {
        return values.isEmpty() ? EMPTY : new Vars(Map.copyOf(values));
    }

    public static Vars empty() {
        return EMPTY;
    }

    public Optional<String> get(String name) {
        return Optional.ofNullable(values.get(name));
    }

    public boolean isPresent(String name) {
        return values.containsKey(name);
    }

    public Map<String, String> asMap() {
        return values;
    }

    @Override
    public String toString() {
        return "Vars" + values.keySet();
    }
}
