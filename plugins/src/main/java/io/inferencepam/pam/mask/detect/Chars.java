package io.inferencepam.pam.mask.detect;

/** ASCII character classes shared by the hand-written scanners (no regex on model output). */
final class Chars {
    private Chars() {
    }

    static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    static boolean upper(char c) {
        return c >= 'A' && c <= 'Z';
    }

    static boolean lower(char c) {
        return c >= 'a' && c <= 'z';
    }

    static boolean alnum(char c) {
        return digit(c) || upper(c) || lower(c);
    }

    static boolean hex(char c) {
        return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /**
     * Letters and digits that make a longer word with an adjacent value: ASCII letters, digits and
     * '_', and letters and digits of the scripts written with spaces between words (Latin, Greek,
     * Cyrillic, Arabic…). Scripts written without spaces (Han, kana, Hangul, Thai, Lao, Khmer,
     * Myanmar, Tibetan…) glue words to each other, so a kanji next to "user@example.com" or
     * "84.12.3.4" is not part of the value: it is a boundary.
     */
    static boolean wordChar(char c) {
        if (c < 128) {
            return alnum(c) || c == '_';
        }
        if (!Character.isLetterOrDigit(c)) {
            return false;
        }
        return !unspacedScript(c);
    }

    /** Characters of scripts written without spaces between words (BMP only: values are ASCII). */
    static boolean unspacedScript(char c) {
        if (c >= 0x3040 && c <= 0x30FF) {
            return true; // hiragana, katakana (with the prolonged sound mark U+30FC, script Common)
        }
        if (c >= 0xFF66 && c <= 0xFF9F) {
            return true; // half-width katakana
        }
        if (Character.isSurrogate(c)) {
            return true; // supplementary CJK ideographs (ext. B…) come as surrogate pairs
        }
        return switch (Character.UnicodeScript.of(c)) {
            case HAN, HIRAGANA, KATAKANA, HANGUL, BOPOMOFO, YI, THAI, LAO, KHMER, MYANMAR, TIBETAN -> true;
            default -> false;
        };
    }

    static boolean digitAt(String s, int i) {
        return i >= 0 && i < s.length() && digit(s.charAt(i));
    }

    /** True when the value starting at {@code i} is not glued to a preceding word character. */
    static boolean startBoundary(String s, int i) {
        return i == 0 || !wordChar(s.charAt(i - 1));
    }

    /** True when the value ending at {@code end} is not glued to a following word character. */
    static boolean endBoundary(String s, int end) {
        return end >= s.length() || !wordChar(s.charAt(end));
    }

    /**
     * A number boundary: besides word characters, a '.', ',' or '-' joined to another digit
     * continues the number (decimals, versions, longer ids), so the candidate is not a whole value.
     * A ',' continues it only as a thousands separator (groups of exactly three digits, the group
     * before it at most three): a value in a table row ("1001,123-45-6789,42") is read whole.
     */
    static boolean numberStart(String s, int i) {
        if (!startBoundary(s, i)) {
            return false;
        }
        if (i >= 2) {
            char p = s.charAt(i - 1);
            // "DE89 3704 …", "12-4111…": a group of a longer grouped number is not a value of its own
            char pp = s.charAt(i - 2);
            if (p == '-' && !Character.isWhitespace(pp) && pp != '(' && pp != '"' && pp != '\'') {
                return false; // "chatcmpl-3000000000759", "id--42…": an identifier's suffix
            }
            if (p == ',' && digit(pp)) {
                return !thousandsBefore(s, i);
            }
            return !((p == '.' || p == '/' || p == ':' || p == ' ') && digit(pp));
        }
        return true;
    }

    static boolean numberEnd(String s, int end) {
        if (!endBoundary(s, end)) {
            return false;
        }
        if (end + 1 < s.length()) {
            char n = s.charAt(end);
            if (n == ',' && digit(s.charAt(end + 1))) {
                return !thousandsAfter(s, end);
            }
            return !((n == '.' || n == '-' || n == '/' || n == ':') && digit(s.charAt(end + 1)));
        }
        return true;
    }

    /** Length of the digit run ending right before {@code end} (at most 4 counted). */
    private static int runBefore(String s, int end) {
        int k = end;
        while (k > 0 && end - k < 4 && digit(s.charAt(k - 1))) {
            k--;
        }
        return end - k;
    }

    /** Length of the digit run starting at {@code from} (at most 4 counted). */
    private static int runAfter(String s, int from) {
        int k = from;
        while (k < s.length() && k - from < 4 && digit(s.charAt(k))) {
            k++;
        }
        return k - from;
    }

    /** s[i-1] is ',' between digits: true when it reads as a thousands separator ("1,234"). */
    private static boolean thousandsBefore(String s, int i) {
        int before = runBefore(s, i - 1);
        if (before < 1 || before > 3 || runAfter(s, i) != 3) {
            return false;
        }
        // "12,123-45-6789": a thousands group is not continued by '-' or ' ' and more digits
        int k = i + 3;
        return !(k + 1 < s.length() && (s.charAt(k) == '-' || s.charAt(k) == ' ' || s.charAt(k) == '/') && digit(s.charAt(k + 1)));
    }

    /** s[end] is ',' followed by a digit: true when the value's last group continues as thousands. */
    private static boolean thousandsAfter(String s, int end) {
        int last = runBefore(s, end);
        return last >= 1 && last <= 3 && runAfter(s, end + 1) == 3 && !digitAt(s, end + 4);
    }

    /**
     * Next occurrence of {@code needle} at or after {@code from}, located through one of its
     * characters ({@code needle.charAt(anchor)}, chosen rare in prose) with the vectorised
     * {@link String#indexOf(int, int)}, then verified; {@code ignoreCase} compares ASCII case-insensitively
     * (the anchor char must then be case-less, or be searched in both cases by the caller).
     */
    static int find(String s, String needle, int anchor, int from, boolean ignoreCase) {
        char a = needle.charAt(anchor);
        int pos = s.indexOf(a, from + anchor);
        while (pos >= 0) {
            int at = pos - anchor;
            if (s.regionMatches(ignoreCase, at, needle, 0, needle.length())) {
                return at;
            }
            pos = s.indexOf(a, pos + 1);
        }
        return -1;
    }
}
