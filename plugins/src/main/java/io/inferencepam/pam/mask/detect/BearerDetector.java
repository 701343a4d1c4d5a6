package io.inferencepam.pam.mask.detect;

/**
 * Generic bearer credentials written as {@code Bearer <token>} (any case): the token (16–4096
 * characters of the RFC 6750 b64token alphabet, with at least one digit and one letter) is the
 * value; the word "Bearer" stays readable.
 */
public final class BearerDetector implements Detector {
    @Override
    public String name() {
        return "bearer_token";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        int from = 0;
        for (int word : words(s)) {
            if (word < from) {
                continue;
            }
            int at = word + 1;
            from = at + 1;
            int b = at - 1;
            if (b < 0 || (s.charAt(b) != 'B' && s.charAt(b) != 'b') || !Chars.startBoundary(s, b)) {
                continue;
            }
            int j = at + 5;
            int spaces = 0;
            while (j < n && s.charAt(j) == ' ' && spaces < 4) {
                j++;
                spaces++;
            }
            if (spaces == 0) {
                continue;
            }
            int start = j;
            int limit = Math.min(n, start + 4097);
            boolean digit = false;
            boolean letter = false;
            while (j < limit && tokenChar(s.charAt(j))) {
                char c = s.charAt(j);
                digit |= Chars.digit(c);
                letter |= Chars.upper(c) || Chars.lower(c);
                j++;
            }
            int len = j - start;
            if (len >= 16 && len <= 4096 && digit && letter && Chars.endBoundary(s, j)) {
                sink.found(start, j);
                from = j;
            }
        }
    }

    /**
     * Start offsets of "bearer" in any case, ascending: one pass per capitalisation of the first
     * letter (each search resumes where the last one stopped, so the scan stays linear).
     */
    private static int[] words(String s) {
        int[] lower = occurrences(s, "bearer");
        int[] upper = occurrences(s, "Bearer");
        // both ascending and disjoint (the first letters differ): merge
        int[] out = new int[lower.length + upper.length];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < lower.length || j < upper.length) {
            out[k++] = j == upper.length || (i < lower.length && lower[i] < upper[j]) ? lower[i++] : upper[j++];
        }
        return out;
    }

    private static int[] occurrences(String s, String form) {
        int[] out = new int[4];
        int n = 0;
        int from = 0;
        int at;
        while ((at = Chars.find(s, form, 0, from, true)) >= 0) {
            if (n == out.length) {
                out = java.util.Arrays.copyOf(out, n * 2);
            }
            out[n++] = at;
            from = at + 1;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static boolean tokenChar(char c) {
        return Chars.alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
    }
}
