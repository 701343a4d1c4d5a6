package io.inferencepam.pam.guard.prompt;

import java.text.Normalizer;

/**
 * The forms of a text that rules match against, so that trivial evasions fail: format characters
 * removed (Unicode category Cf: zero-width space/joiners, word joiner, BOM, soft hyphen, bidi
 * controls, the invisible "tag" characters used to smuggle ASCII), then NFKC (fullwidth and
 * styled letters, ligatures, superscripts become plain letters: {@code ｉｇｎｏｒｅ} → {@code ignore}),
 * and, for case-insensitive keyword lists, each code point case-folded (Kelvin sign, long s and
 * dotless i included). Keywords go through the same steps, so both sides agree.
 *
 * <p>Not covered: look-alike letters of other scripts (Cyrillic {@code а} for Latin {@code a}),
 * spacing or punctuation inside a word ({@code i.g.n.o.r.e}) or between the words of a phrase (two
 * spaces, a newline), encodings (base64, rot13, leetspeak),
 * other languages, and text split across messages or fields.
 */
final class TextForms {
    private TextForms() {
    }

    /** Format characters removed, then NFKC. ASCII text is returned as it is (no copy). */
    static String normalized(String s) {
        return isAscii(s) ? s : normalizedNonAscii(s);
    }

    /** {@link #normalized} for a text already known to hold a non-ASCII character. */
    static String normalizedNonAscii(String s) {
        return Normalizer.normalize(withoutFormatCharacters(s), Normalizer.Form.NFKC);
    }

    /** {@link #normalized} and case-folded per code point. */
    static String folded(String normalized) {
        if (isAscii(normalized)) {
            return asciiLower(normalized);
        }
        StringBuilder sb = new StringBuilder(normalized.length());
        for (int i = 0; i < normalized.length(); ) {
            int cp = normalized.codePointAt(i);
            i += Character.charCount(cp);
            sb.appendCodePoint(Character.toLowerCase(Character.toUpperCase(cp)));
        }
        return sb.toString();
    }

    private static String withoutFormatCharacters(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (Character.getType(cp) == Character.FORMAT) {
                if (sb == null) {
                    sb = new StringBuilder(s.length()).append(s, 0, i);
                }
            } else if (sb != null) {
                sb.appendCodePoint(cp);
            }
            i += n;
        }
        return sb == null ? s : sb.toString();
    }

    static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static String asciiLower(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                char[] out = s.toCharArray();
                for (int j = i; j < out.length; j++) {
                    char d = out[j];
                    if (d >= 'A' && d <= 'Z') {
                        out[j] = (char) (d + ('a' - 'A'));
                    }
                }
                return new String(out);
            }
        }
        return s;
    }
}
