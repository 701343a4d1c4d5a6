package io.inferencepam.pam.mask.detect;

/**
 * AWS secret access keys: exactly 40 characters of [A-Za-z0-9/+] with upper, lower and a digit,
 * anchored by context — "secret" (any case) within the 48 characters before the key. Without the
 * anchor a 40-character base64 run is too common (hashes, ids) to call a secret; a SHA-1 in hex has
 * no upper-case letters and never matches.
 */
public final class AwsSecretKeyDetector implements Detector {
    private static final int CONTEXT = 48;

    @Override
    public String name() {
        return "aws_secret_key";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        int reported = 0;
        // where the previous anchor's window was read to: a run's verdict does not depend on the
        // anchor, so windows that overlap ("secret" on every line) are read once
        int scanned = 0;
        for (int a : anchors(s)) {
            // candidate runs start within CONTEXT chars after the end of "secret"
            int j = Math.max(Math.max(reported, scanned), a + 6);
            int stop = Math.min(n, a + 6 + CONTEXT);
            while (j < stop) {
                if (!keyChar(s.charAt(j)) || (j > 0 && keyChar(s.charAt(j - 1)))) {
                    j++;
                    continue;
                }
                int start = j;
                boolean up = false;
                boolean low = false;
                boolean dig = false;
                while (j < n && keyChar(s.charAt(j)) && j - start <= 40) {
                    char c = s.charAt(j);
                    up |= Chars.upper(c);
                    low |= Chars.lower(c);
                    dig |= Chars.digit(c);
                    j++;
                }
                if (j - start == 40 && up && low && dig && (j == n || (!keyChar(s.charAt(j)) && !Chars.wordChar(s.charAt(j))
                        && s.charAt(j) != '='))) {
                    sink.found(start, j);
                    reported = j;
                }
                while (j < stop && keyChar(s.charAt(j))) {
                    j++; // the rest of this run cannot start a key; stop at the window's end
                }
            }
            scanned = Math.max(scanned, j);
        }
    }

    /** Start offsets of "secret" in any case, ascending. */
    private static int[] anchors(String s) {
        int[] out = new int[8];
        int n = 0;
        for (String form : new String[] {"secret", "SECRET"}) {
            int from = 0;
            int at;
            while ((at = Chars.find(s, form, 2, from, true)) >= 0) {
                if (n == out.length) {
                    out = java.util.Arrays.copyOf(out, n * 2);
                }
                out[n++] = at;
                from = at + 1;
            }
        }
        out = java.util.Arrays.copyOf(out, n);
        java.util.Arrays.sort(out);
        return out;
    }

    private static boolean keyChar(char c) {
        return Chars.alnum(c) || c == '/' || c == '+';
    }
}
