package io.inferencepam.pam.mask.detect;

/**
 * US social security numbers written AAA-GG-SSSS (dash or space): area 000, 666 and 900–999,
 * group 00 and serial 0000 are never issued and are not matched.
 */
public final class SsnDetector implements Detector {
    @Override
    public String name() {
        return "ssn";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        for (int i = 0; i + 11 <= n; i++) {
            if (!Chars.digit(s.charAt(i)) || !Chars.numberStart(s, i)) {
                continue;
            }
            char sep = s.charAt(i + 3);
            if ((sep != '-' && sep != ' ') || s.charAt(i + 6) != sep
                    || !digits(s, i, 3) || !digits(s, i + 4, 2) || !digits(s, i + 7, 4) || !Chars.numberEnd(s, i + 11)) {
                continue;
            }
            int area = num(s, i, 3);
            int group = num(s, i + 4, 2);
            int serial = num(s, i + 7, 4);
            if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) {
                continue;
            }
            sink.found(i, i + 11);
            i += 10;
        }
    }

    private static boolean digits(String s, int from, int len) {
        for (int k = from; k < from + len; k++) {
            if (!Chars.digit(s.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    private static int num(String s, int from, int len) {
        int v = 0;
        for (int k = from; k < from + len; k++) {
            v = v * 10 + (s.charAt(k) - '0');
        }
        return v;
    }
}
