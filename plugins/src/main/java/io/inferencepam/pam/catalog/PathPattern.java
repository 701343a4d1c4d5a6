package io.inferencepam.pam.catalog;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A request path pattern over {@code /}-separated segments, the one syntax of the catalogue and of
 * pam-guard's custom rules:
 * <ul>
 *   <li>a literal segment matches itself ({@code chat});</li>
 *   <li>{@code *} alone matches exactly one non-empty segment;</li>
 *   <li>{@code *} inside a segment matches any run of characters within it ({@code *:predict},
 *       {@code *_lora_adapter});</li>
 *   <li>{@code **} alone matches zero or more whole segments ({@code /v1/files/**} matches
 *       {@code /v1/files}, {@code /v1/files/f-1} and {@code /v1/files/f-1/content}).</li>
 * </ul>
 * Matching works on a path already split by {@link #segments} (split once per request, matched
 * against every rule) and runs in O(segments × pattern segments): no regex, no backtracking blow-up.
 */
public final class PathPattern {
    private static final String[] ROOT = new String[0];

    private final String text;
    private final String[] parts;
    private final String[] lowerParts;

    private PathPattern(String text, String[] parts) {
        this.text = text;
        this.parts = parts;
        this.lowerParts = new String[parts.length];
        for (int i = 0; i < parts.length; i++) {
            lowerParts[i] = parts[i].toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @throws IllegalArgumentException when the pattern does not start with {@code /}, has an empty
     *                                  segment, or uses {@code **} inside a segment
     */
    public static PathPattern of(String pattern) {
        if (pattern.isEmpty() || pattern.charAt(0) != '/') {
            throw new IllegalArgumentException("a path pattern starts with '/'");
        }
        String[] parts = segments(pattern);
        for (String p : parts) {
            if (p.isEmpty()) {
                throw new IllegalArgumentException("a path pattern has no empty segments ('//' or a trailing '/')");
            }
            if (p.contains("**") && !p.equals("**")) {
                throw new IllegalArgumentException("'**' stands for whole segments: write /a/**, not /a**");
            }
        }
        return new PathPattern(pattern, parts);
    }

    /**
     * The segments of a path: {@code "/"} has none, {@code "/a/b"} has {@code a}, {@code b}; a
     * trailing {@code /} or a {@code //} yields an empty segment (that no literal or {@code *} matches).
     */
    public static String[] segments(String path) {
        if (path.length() <= 1) {
            return ROOT;
        }
        List<String> out = new ArrayList<>(8);
        int start = 1;
        while (true) {
            int end = path.indexOf('/', start);
            if (end < 0) {
                out.add(path.substring(start));
                return out.toArray(ROOT);
            }
            out.add(path.substring(start, end));
            start = end + 1;
        }
    }

    /** Lower-cased copies of {@code segments}, for {@link #matchesIgnoringCase}. */
    public static String[] lower(String[] segments) {
        String[] out = new String[segments.length];
        for (int i = 0; i < segments.length; i++) {
            out[i] = segments[i].toLowerCase(Locale.ROOT);
        }
        return out;
    }

    /** Exact match on the path's segments. */
    public boolean matches(String[] segments) {
        return match(parts, segments);
    }

    /** Match in any letter case; {@code lowerSegments} must come from {@link #lower}. */
    public boolean matchesIgnoringCase(String[] lowerSegments) {
        return match(lowerParts, lowerSegments);
    }

    public boolean matches(String path) {
        return matches(segments(path));
    }

    /** Number of segments in the pattern (a {@code **} counts as one). */
    int size() {
        return parts.length;
    }

    /**
     * Wildcard matching with {@code **} as the star and every other segment as a one-segment
     * token: the classic greedy algorithm that backtracks only to the last star, linear in practice.
     */
    private static boolean match(String[] pattern, String[] path) {
        int p = 0;
        int s = 0;
        int star = -1;
        int resume = 0;
        while (s < path.length) {
            if (p < pattern.length && !pattern[p].equals("**") && segment(pattern[p], path[s])) {
                p++;
                s++;
            } else if (p < pattern.length && pattern[p].equals("**")) {
                star = p++;
                resume = s;
            } else if (star >= 0) {
                p = star + 1;
                s = ++resume;
            } else {
                return false;
            }
        }
        while (p < pattern.length && pattern[p].equals("**")) {
            p++;
        }
        return p == pattern.length;
    }

    /** One pattern segment against one path segment; {@code *} within a segment spans any characters. */
    private static boolean segment(String pattern, String seg) {
        if (seg.isEmpty()) {
            return false;
        }
        if (pattern.equals("*")) {
            return true;
        }
        int star = pattern.indexOf('*');
        if (star < 0) {
            return pattern.equals(seg);
        }
        return glob(pattern, seg);
    }

    private static boolean glob(String pattern, String s) {
        int p = 0;
        int i = 0;
        int star = -1;
        int resume = 0;
        while (i < s.length()) {
            if (p < pattern.length() && pattern.charAt(p) != '*' && pattern.charAt(p) == s.charAt(i)) {
                p++;
                i++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                star = p++;
                resume = i;
            } else if (star >= 0) {
                p = star + 1;
                i = ++resume;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PathPattern other && other.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
