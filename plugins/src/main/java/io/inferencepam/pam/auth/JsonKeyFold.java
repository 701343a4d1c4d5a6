package io.inferencepam.pam.auth;

/**
 * Whether two JSON member names would reach the same field in a case-insensitive JSON decoder.
 *
 * <p>Go's {@code encoding/json} (Ollama, most Go model servers and proxies) matches a member to a
 * struct field by exact name first and otherwise by Unicode simple case folding (each rune mapped
 * to the smallest rune of its {@code unicode.SimpleFold} orbit), and the last matching member wins:
 * {@code {"model":"a","MODEL":"b"}} is served as {@code b}. The orbits reach outside ASCII:
 * U+212A KELVIN SIGN is a {@code k}, U+017F LATIN SMALL LETTER LONG S an {@code s}. Go's json v2
 * ({@code nocase}, {@code MatchCaseInsensitiveNames}) also ignores {@code _} and {@code -}. Other
 * case-insensitive decoders (System.Text.Json, Jackson's {@code ACCEPT_CASE_INSENSITIVE_PROPERTIES})
 * compare upper- or lower-cased names, which this relation covers too.
 *
 * <p>Comparing {@code toLowerCase(toUpperCase(c))} per code point puts every member of a simple
 * fold orbit in one class (K→K→k, ſ→S→s). It is coarser than Go in a few places (U+0130 and U+0131
 * count as {@code i}), which only means a few more names are refused, never fewer.
 */
public final class JsonKeyFold {
    private JsonKeyFold() {
    }

    /** True when a case-insensitive decoder could read {@code a} as {@code b} (or the other way round). */
    public static boolean sameKey(String a, String b) {
        int i = 0;
        int j = 0;
        while (true) {
            i = skipDelimiters(a, i);
            j = skipDelimiters(b, j);
            if (i == a.length() || j == b.length()) {
                return i == a.length() && j == b.length();
            }
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb && fold(ca) != fold(cb)) {
                return false;
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
    }

    /**
     * One representative of {@code name}'s class under {@link #sameKey}: two names are the same
     * key exactly when their {@code key}s are equal (for checking every member of an object in one
     * pass instead of every pair).
     */
    public static String key(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            i += Character.charCount(c);
            if (c != '_' && c != '-') {
                sb.appendCodePoint(fold(c));
            }
        }
        return sb.toString();
    }

    private static int skipDelimiters(String s, int i) {
        while (i < s.length() && (s.charAt(i) == '_' || s.charAt(i) == '-')) {
            i++;
        }
        return i;
    }

    private static int fold(int codePoint) {
        return Character.toLowerCase(Character.toUpperCase(codePoint));
    }
}
