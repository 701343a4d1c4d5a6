package io.inferencepam.pam.catalog;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An ordered list of endpoints, looked up by method and path with first-match-wins semantics, but
 * without trying every entry: entries are bucketed by their pattern's first literal segment, so a
 * lookup tries only the entries of the path's first segment and those that start with a wildcard.
 * Immutable.
 *
 * @param <T> what each entry carries besides its endpoint (e.g. its pack)
 */
public final class EndpointIndex<T> {
    /** One entry: its position in the list, the endpoint, and what it carries. */
    public record Entry<T>(int order, Endpoint endpoint, T tag) {
    }

    private static final Entry<?>[] NONE = new Entry<?>[0];

    private final boolean ignoreCase;
    private final Map<String, Entry<T>[]> byFirst;
    private final Entry<T>[] wildFirst;

    /**
     * @param ignoreCase match paths in any letter case (then look up with lower-cased segments)
     */
    @SuppressWarnings("unchecked")
    public EndpointIndex(List<Endpoint> endpoints, List<T> tags, boolean ignoreCase) {
        if (endpoints.size() != tags.size()) {
            throw new IllegalArgumentException("one tag per endpoint");
        }
        this.ignoreCase = ignoreCase;
        Map<String, List<Entry<T>>> buckets = new HashMap<>();
        List<Entry<T>> wild = new ArrayList<>();
        for (int i = 0; i < endpoints.size(); i++) {
            Entry<T> e = new Entry<>(i, endpoints.get(i), tags.get(i));
            String first = e.endpoint().path().firstLiteral(ignoreCase);
            if (first == null) {
                wild.add(e);
            } else {
                buckets.computeIfAbsent(first, k -> new ArrayList<>()).add(e);
            }
        }
        Map<String, Entry<T>[]> index = new HashMap<>();
        buckets.forEach((k, v) -> index.put(k, v.toArray((Entry<T>[]) NONE)));
        this.byFirst = Map.copyOf(index);
        this.wildFirst = wild.toArray((Entry<T>[]) NONE);
    }

    /**
     * The first entry, in list order, that accepts {@code method} and matches the path.
     *
     * @param segments the path's segments ({@link PathPattern#segments}), lower-cased
     *                 ({@link PathPattern#lower}) when this index ignores case
     */
    @SuppressWarnings("unchecked")
    public Optional<Entry<T>> first(String method, String[] segments) {
        Entry<T>[] a = segments.length == 0 ? (Entry<T>[]) NONE : byFirst.getOrDefault(segments[0], (Entry<T>[]) NONE);
        Entry<T>[] b = wildFirst;
        int i = 0;
        int j = 0;
        while (i < a.length || j < b.length) {
            Entry<T> e = j >= b.length || (i < a.length && a[i].order() < b[j].order()) ? a[i++] : b[j++];
            if (e.endpoint().acceptsMethod(method) && matches(e.endpoint().path(), segments)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    private boolean matches(PathPattern p, String[] segments) {
        return ignoreCase ? p.matchesIgnoringCase(segments) : p.matches(segments);
    }
}
