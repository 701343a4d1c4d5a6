package io.inferencepam.pam.guard.params;

/**
 * The spelling a case-insensitive JSON decoder gives a member name. Go's {@code encoding/json}
 * (Ollama, including its OpenAI-compatible endpoints) matches a member to a struct field by Unicode
 * simple case folding when no exact match exists, and the last matching member wins; Go's json v2
 * also ignores {@code _} and {@code -}. So {@code {"stream":false,"STREAM":true}} streams on Ollama.
 * The policy refuses a body in which a controlled name appears in any spelling other than the exact
 * one. (pam-auth's {@code JsonKeyFold} applies the same relation to the model field.)
 *
 * <p>{@code toLowerCase(toUpperCase(c))} per code point puts each simple fold orbit in one class
 * (K KELVIN SIGN → k, ſ LONG S → s); it is slightly coarser than Go, which only refuses more.
 */
final class KeyFold {
    private KeyFold() {
    }

    static String fold(String key) {
        StringBuilder sb = new StringBuilder(key.length());
        for (int i = 0; i < key.length(); ) {
            int cp = key.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == '_' || cp == '-') {
                continue;
            }
            sb.appendCodePoint(Character.toLowerCase(Character.toUpperCase(cp)));
        }
        return sb.toString();
    }
}
