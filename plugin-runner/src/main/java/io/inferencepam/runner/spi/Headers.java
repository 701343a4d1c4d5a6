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
    private final List<Header> entries;

    private Headers(List<Header> entries) {
        this.entries = entries;
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
        return entries;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public int size() {
        return entries.size();
    }

    /** First value of {@code name}, ignoring case. */
    public Optional<String> first(String name) {
        for (Header h : entries) {
            if (h.name().equalsIgnoreCase(name)) {
                return Optional.ofNullable(h.value());
            }
        }
        return Optional.empty();
    }

    public boolean contains(String name) {
        for (Header h : entries) {
            if (h.name().equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** All values of {@code name}, ignoring case, in arrival order. */
    public List<String> all(String name) {
        List<String> out = new ArrayList<>(2);
        for (Header h : entries) {
            if (h.name().equalsIgnoreCase(name)) {
                out.add(h.value());
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** A copy without any entry named {@code name}. */
    public Headers without(String name) {
        List<Header> out = new ArrayList<>(entries.size());
        for (Header h : entries) {
            if (!h.name().equalsIgnoreCase(name)) {
                out.add(h);
            }
        }
        return out.size() == entries.size() ? this : of(out);
    }

    /** A copy where {@code name} has exactly the given values (none removes it), appended at the end. */
    public Headers with(String name, List<String> values) {
        List<Header> out = new ArrayList<>(without(name).entries);
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
        return o instanceof Headers other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    /** Names only: values may hold credentials and must never reach a log line. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Headers[");
        for (int i = 0; i < entries.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(entries.get(i).name());
        }
        return sb.append(']').toString();
    }
}
