package io.inferencepam.pam.mask.detect;

/**
 * Generic secrets named by their key in text: {@code DB_PASSWORD=…}, {@code password: "…"},
 * {@code client_secret = '…'}, {@code Passwort: …}. Anchored on each ':' / '=': the key before it
 * (at most 64 characters, a whole identifier) must name a secret ({@link KeyContext#SECRET}); the
 * value after it (quoted, or up to the next blank) must look like a real value — at least six
 * characters with a digit, a symbol or mixed case, not a placeholder — so prose about passwords
 * stays. In JSON the key is a separate token: the JSON masker applies the same context there.
 */
public final class KeyedSecretDetector implements Detector {
    private static final int MAX_KEY = 64;
    private static final int MAX_VALUE = 512;

    @Override
    public String name() {
        return "secret";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        int next = 0;
        // the ':' and '=' are located with the vectorised indexOf, each list kept one ahead
        int colon = s.indexOf(':');
        int equals = s.indexOf('=');
        while (colon >= 0 || equals >= 0) {
            int i;
            if (equals < 0 || (colon >= 0 && colon < equals)) {
                i = colon;
                colon = s.indexOf(':', colon + 1);
            } else {
                i = equals;
                equals = s.indexOf('=', equals + 1);
            }
            if (i < next) {
                continue;
            }
            // the key: blanks, an optional closing quote, then an identifier
            int k = i;
            int blanks = 0;
            while (k > 0 && (s.charAt(k - 1) == ' ' || s.charAt(k - 1) == '\t') && blanks < 4) {
                k--;
                blanks++;
            }
            if (k > 0 && (s.charAt(k - 1) == '"' || s.charAt(k - 1) == '\'')) {
                k--;
            }
            int keyEnd = k;
            while (k > 0 && keyEnd - k < MAX_KEY && keyChar(s.charAt(k - 1))) {
                k--;
            }
            if (k == keyEnd || (k > 0 && keyChar(s.charAt(k - 1))) || KeyContext.of(s.substring(k, keyEnd)) != KeyContext.SECRET) {
                continue;
            }
            // the value
            int j = i + 1;
            if (j < n && (s.charAt(j) == '>' || s.charAt(j) == '=')) {
                j++; // "=>", "=="
            }
            blanks = 0;
            while (j < n && (s.charAt(j) == ' ' || s.charAt(j) == '\t') && blanks < 4) {
                j++;
                blanks++;
            }
            if (j >= n) {
                continue;
            }
            char q = s.charAt(j);
            int start;
            int end;
            if (q == '"' || q == '\'' || q == '`') {
                start = j + 1;
                end = start;
                while (end < n && end - start <= MAX_VALUE && s.charAt(end) != q && s.charAt(end) != '\n') {
                    end++;
                }
                if (end >= n || s.charAt(end) != q) {
                    continue;
                }
            } else {
                start = j;
                end = start;
                while (end < n && end - start <= MAX_VALUE && !stop(s.charAt(end))) {
                    end++;
                }
                // a trailing sentence dot is punctuation
                while (end > start && (s.charAt(end - 1) == '.' || s.charAt(end - 1) == ',')) {
                    end--;
                }
            }
            if (end - start > MAX_VALUE || !KeyContext.secretValue(s.substring(start, end), true)) {
                continue;
            }
            sink.found(start, end);
            next = end;
        }
    }

    private static boolean keyChar(char c) {
        return Chars.alnum(c) || c == '_' || c == '-' || c == '.' || (c >= 128 && Character.isLetterOrDigit(c));
    }

    private static boolean stop(char c) {
        return Character.isWhitespace(c) || c == '"' || c == '\'' || c == '`' || c == ';' || c == ')' || c == '}' || c == ']'
                || c == '&';
    }
}
