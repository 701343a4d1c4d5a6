package io.inferencepam.runner.spi;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Typed, thread-safe attribute bag. Plugins of one call run one after another (never
 * concurrently), but on different executor threads, hence the concurrent map.
 */
public final class Attributes {
    private final ConcurrentHashMap<Key<?>, Object> values = new ConcurrentHashMap<>();

    /** A typed key; compare by identity, so declare each key once as a constant. */
    public static final class Key<T> {
        private final String name;
        private final Class<T> type;

        private Key(String name, Class<T> type) {
            this.name = name;
            this.type = type;
        }

        public static <T> Key<T> of(String name, Class<T> type) {
            return new Key<>(name, type);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    public <T> Optional<T> get(Key<T> key) {
        return Optional.ofNullable(key.type.cast(values.get(key)));
    }

    public <T> void put(Key<T> key, T value) {
        values.put(key, key.type.cast(value));
    }

    public <T> T computeIfAbsent(Key<T> key, Supplier<T> value) {
        return key.type.cast(values.computeIfAbsent(key, k -> value.get()));
    }

    public void remove(Key<?> key) {
        values.remove(key);
    }
}
