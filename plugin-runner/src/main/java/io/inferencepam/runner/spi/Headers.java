package io.inferencepam.runner.spi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * An immutable, ordered multi-map of header (or argument) entries. Repeated names stay separate
 * entries, as APISIX sends them. Lookups ignore case because response headers keep the upstream's
 * casing while request headers arrive lower-cased.
 */
public final class Headers {
    private static final Headers EMPTY = new Headers(List.of());
    /** The entries; for {@link #onDemand} ones, null until first read (then decoded once, immutable). */
    private volatile List<Header> entries;
    /** What decodes the entries of an {@link #onDemand} Headers; null for one built from entries. */
    private final java.util.function.Supplier<List<Header>> decode;
    private final int size;

    private Headers(List<Header> entries) {
        this.entries = entries;
        this.decode = null;
        this.size = entries.size();
    }

    private Headers(int size, java.util.function.Supplier<List<Header>> decode) {
        this.decode = decode;
        this.size = size;
    }

    /**
     * Entries decoded only when first read: the runtime keeps a call frame's headers and args as
     * validated bytes and turns them into Strings only if a plugin reads them (most calls of a
     * cheap route never do). {@code decode} must be a pure function returning exactly
     * {@code size} entries; it may run more than once when threads race on the first read (each
     * run yields equal entries, one of them is kept), so a Headers stays safe to share.
     */
    public static Headers onDemand(int size, java.util.function.Supplier<List<Header>> decode) {
        return size == 0 ? EMPTY : new Headers(size, java.util.Objects.requireNonNull(decode, "decode"));
    }

    public static Headers of(List<Header> entries) {
        return entries.isEmpty() ? EMPTY : new Headers(List.copyOf(entries));
    }

    public static Headers empty() {
        return EMPTY;
    }

    public static Headers of(String... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("names and values must come in pairs");
        }
        List<Header> list = new ArrayList<>(namesAndValues.length / 2);
        for (int i = 0; i < namesAndValues.length; i += 2) {
            list.add(new Header(namesAndValues[i], namesAndValues[i + 1]));
        }
        return of(list);
    }

    public List<Header> entries() {
        List<Header> e = entries;
        if (e == null) {
            e = List.copyOf(decode.get());
            if (e.size() != size) {
                // A decoder that disagrees with its own count is a runtime bug: fail, never guess.
                throw new IllegalStateException("decoded " + e.size() + " entries, expected " + size);
            }
            entries = e;
        }
        return e;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }

    /** First value of {@code name}, ignoring case. */
    public Optional<String> first(String name) {
        for (Header h : entries()) {
            if (h.name().equalsIgnoreCase(name)) {
                return Optional.ofNullable(h.value());
            }
        }
        return Optional.empty();
    }

    public boolean contains(String name) {
        for (Header h : entries()) {
            if (h.name().equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** All values of {@code name}, ignoring case, in arrival order. */
    public List<String> all(String name) {
        List<String> out = new ArrayList<>(2);
        for (Header h : entries()) {
            if (h.name().equalsIgnoreCase(name)) {
                out.add(h.value());
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** A copy without any entry named {@code name}. */
    public Headers without(String name) {
        List<Header> out = new ArrayList<>(size);
        for (Header h : entries()) {
            if (!h.name().equalsIgnoreCase(name)) {
                out.add(h);
            }
        }
        return out.size() == size ? this : of(out);
    }

    /** A copy where {@code name} has exactly the given values (none removes it), appended at the end. */
    public Headers with(String name, List<String> values) {
        List<Header> out = new ArrayList<>(without(name).entries());
        for (String v : values) {
            out.add(new Header(name, v));
        }
        return of(out);
    }

    public Headers with(String name, String value) {
        return with(name, List.of(value));
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Headers other && entries().equals(other.entries());
    }

    @Override
    public int hashCode() {
        return entries().hashCode();
    }

    /** Names only: values may hold credentials and must never reach a log line. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Headers[");
        List<Header> e = entries();
        for (int i = 0; i < e.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(e.get(i).name());
        }
        return sb.append(']').toString();
    }
}
