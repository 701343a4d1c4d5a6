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
        int i = 0;
        while (i < n) {
            if (!keyChar(s.charAt(i))) {
                i++;
                continue;
            }
            int start = i;
            boolean up = false;
            boolean low = false;
            boolean dig = false;
            while (i < n && keyChar(s.charAt(i))) {
                char c = s.charAt(i);
                up |= Chars.upper(c);
                low |= Chars.lower(c);
                dig |= Chars.digit(c);
                i++;
            }
            if (i - start == 40 && up && low && dig && (i == n || !Chars.wordChar(s.charAt(i)))
                    && (i == n || s.charAt(i) != '=') && anchored(s, start)) {
                sink.found(start, i);
            }
        }
    }

    private static boolean anchored(String s, int start) {
        for (int k = Math.max(0, start - CONTEXT); k + 6 <= start; k++) {
            if (s.regionMatches(true, k, "secret", 0, 6)) {
                return true;
            }
        }
        return false;
    }

    private static boolean keyChar(char c) {
        return Chars.alnum(c) || c == '/' || c == '+';
    }
}
