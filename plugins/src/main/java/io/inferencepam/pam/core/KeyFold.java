package io.inferencepam.pam.core;

/**
 * The spelling a case-insensitive JSON decoder gives a member name. Go's {@code encoding/json}
 * (Ollama, including its OpenAI-compatible endpoints) matches a member to a struct field by Unicode
 * simple case folding when no exact match exists, and the last matching member wins; Go's json v2
 * also ignores {@code _} and {@code -}. So {@code {"stream":false,"STREAM":true}} streams on Ollama.
 * The parameter policy refuses a body in which a controlled name appears in any spelling other than
 * the exact one; the prompt scan reads text under every spelling of a text field. pam-auth applies the same
 * relation to the model field; pam-guard's strict body parse to every object it checks.
 *
 * <p>{@code toLowerCase(toUpperCase(c))} per code point puts each simple fold orbit in one class
 * (K KELVIN SIGN → k, ſ LONG S → s); it is slightly coarser than Go, which only refuses more.
 */
public final class KeyFold {
    private KeyFold() {
    }

    /** The folded spelling: {@code _} and {@code -} dropped, each code point case-folded. */
    public static String fold(String key) {
        StringBuilder sb = new StringBuilder(key.length());
        for (int i = 0; i < key.length(); ) {
            int cp = key.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == '_' || cp == '-') {
                continue;
            }
            sb.appendCodePoint(foldCodePoint(cp));
        }
        return sb.toString();
    }

    /** Whether a case-insensitive decoder could read {@code key} as {@code name}; allocation-free. */
    public static boolean same(String key, String name) {
        if (key.equals(name)) {
            return true;
        }
        int i = 0;
        int j = 0;
        while (true) {
            i = skipDelimiters(key, i);
            j = skipDelimiters(name, j);
            if (i == key.length() || j == name.length()) {
                return i == key.length() && j == name.length();
            }
            int a = key.codePointAt(i);
            int b = name.codePointAt(j);
            if (a != b) {
                if (a < 0x80 && b < 0x80) {
                    // ASCII: only letters fold, and only onto each other (K and S have non-ASCII fold partners,
                    // which this branch never sees)
                    if ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z') {
                        return false;
                    }
                } else if (foldCodePoint(a) != foldCodePoint(b)) {
                    return false;
                }
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
    }

    /**
     * {@code fold(key).hashCode()} without building the folded string: keys that are {@link #same}
     * hash alike, so a set of names can reject most keys with one hash and an int comparison.
     */
    public static int foldHash(String key) {
        int h = 0;
        for (int i = 0; i < key.length(); ) {
            char c = key.charAt(i);
            if (c < 0x80) {
                i++;
                if (c != '_' && c != '-') {
                    h = 31 * h + (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
                }
                continue;
            }
            int cp = key.codePointAt(i);
            i += Character.charCount(cp);
            int f = foldCodePoint(cp);
            if (Character.isBmpCodePoint(f)) {
                h = 31 * h + f;
            } else {
                h = 31 * (31 * h + Character.highSurrogate(f)) + Character.lowSurrogate(f);
            }
        }
        return h;
    }

    private static int skipDelimiters(String s, int i) {
        while (i < s.length() && (s.charAt(i) == '_' || s.charAt(i) == '-')) {
            i++;
        }
        return i;
    }

    private static int foldCodePoint(int cp) {
        return Character.toLowerCase(Character.toUpperCase(cp));
    }
}
