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

    private static final byte LITERAL = 0;
    private static final byte STAR = 1;
    private static final byte DOUBLE_STAR = 2;
    private static final byte GLOB = 3;

    private final String text;
    private final String[] parts;
    private final String[] lowerParts;
    /** What each part is, worked out once: matching runs on every request against every candidate. */
    private final byte[] kinds;
    /** Segments a path needs at least (parts other than {@code **}); a path without {@code **} needs exactly these. */
    private final int minSegments;
    private final boolean hasDoubleStar;

    private PathPattern(String text, String[] parts) {
        this.text = text;
        this.parts = parts;
        this.lowerParts = new String[parts.length];
        this.kinds = new byte[parts.length];
        int min = 0;
        boolean ds = false;
        for (int i = 0; i < parts.length; i++) {
            lowerParts[i] = parts[i].toLowerCase(Locale.ROOT);
            String p = parts[i];
            kinds[i] = p.equals("**") ? DOUBLE_STAR : p.equals("*") ? STAR : p.indexOf('*') >= 0 ? GLOB : LITERAL;
            if (kinds[i] == DOUBLE_STAR) {
                ds = true;
            } else {
                min++;
            }
        }
        this.minSegments = min;
        this.hasDoubleStar = ds;
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

    /**
     * The first segment when it is a literal (no {@code *}), lower-cased when {@code lower}; null
     * when the pattern is {@code /} or starts with a wildcard. For indexing many patterns.
     */
    public String firstLiteral(boolean lower) {
        if (parts.length == 0 || parts[0].indexOf('*') >= 0) {
            return null;
        }
        return lower ? lowerParts[0] : parts[0];
    }

    /** Number of segments in the pattern (a {@code **} counts as one). */
    int size() {
        return parts.length;
    }

    /**
     * Wildcard matching with {@code **} as the star and every other segment as a one-segment
     * token: the classic greedy algorithm that backtracks only to the last star, linear in practice.
     */
    private boolean match(String[] pattern, String[] path) {
        if (path.length < minSegments || (!hasDoubleStar && path.length != minSegments)) {
            return false;
        }
        int p = 0;
        int s = 0;
        int star = -1;
        int resume = 0;
        while (s < path.length) {
            if (p < pattern.length && kinds[p] != DOUBLE_STAR && segment(kinds[p], pattern[p], path[s])) {
                p++;
                s++;
            } else if (p < pattern.length && kinds[p] == DOUBLE_STAR) {
                star = p++;
                resume = s;
            } else if (star >= 0) {
                p = star + 1;
                s = ++resume;
            } else {
                return false;
            }
        }
        while (p < pattern.length && kinds[p] == DOUBLE_STAR) {
            p++;
        }
        return p == pattern.length;
    }

    /** One pattern segment against one path segment; {@code *} within a segment spans any characters. */
    private static boolean segment(byte kind, String pattern, String seg) {
        if (seg.isEmpty()) {
            return false;
        }
        return switch (kind) {
            case STAR -> true;
            case LITERAL -> pattern.equals(seg);
            default -> glob(pattern, seg);
        };
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
