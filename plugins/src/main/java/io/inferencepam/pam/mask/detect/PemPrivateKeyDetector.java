package io.inferencepam.pam.mask.detect;

/**
 * PEM private keys ({@code -----BEGIN … PRIVATE KEY-----} … {@code -----END … -----}), the whole
 * multi-line block. A block without its END line (a truncated key is still a secret) is masked to
 * the end of the text, which also keeps the scan linear.
 */
public final class PemPrivateKeyDetector implements Detector {
    private static final String BEGIN = "-----BEGIN ";
    private static final String DASHES = "-----";

    @Override
    public String name() {
        return "private_key";
    }

    @Override
    public void scan(String s, Sink sink) {
        int from = 0;
        int at;
        // anchored on the B of BEGIN: dashes are common (rules, lists), a capital B much less
        while ((at = Chars.find(s, BEGIN, 5, from, false)) >= 0) {
            from = at + 1;
            int labelEnd = s.indexOf(DASHES, at + BEGIN.length());
            if (labelEnd < 0 || labelEnd - at > 80 || !s.startsWith("PRIVATE KEY", labelEnd - 11)) {
                continue;
            }
            int end = s.indexOf("-----END ", labelEnd + DASHES.length());
            if (end < 0) {
                sink.found(at, s.length());
                return;
            }
            int close = s.indexOf(DASHES, end + 9);
            int stop = close < 0 || close - end > 80 ? s.length() : close + DASHES.length();
            sink.found(at, stop);
            if (stop == s.length()) {
                return;
            }
            from = stop;
        }
    }
}
