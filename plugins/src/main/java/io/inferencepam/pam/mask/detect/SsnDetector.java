package io.inferencepam.pam.mask.detect;

/**
 * US social security numbers written AAA-GG-SSSS (dash or space): area 000, 666 and 900–999,
 * group 00 and serial 0000 are never issued and are not matched. Nine bare digits count only
 * right after "SSN" or "social security" (within 24 characters).
 */
public final class SsnDetector extends IndexedDetector {
    @Override
    public String name() {
        return "ssn";
    }


    @Override
    public void scan(String s, TextIndex index, Sink sink) {
        int n = s.length();
        int[] starts = index.numberStarts();
        int count = index.numberStartCount();
        TableColumns table = null;
        for (int k = 0; k < count; k++) {
            int i = starts[k];
            if (i + 9 > n || !Chars.digit(s.charAt(i)) || !Chars.numberStart(s, i)) {
                continue;
            }
            char sep = s.charAt(i + 3);
            if ((sep == '-' || sep == ' ') && s.charAt(i + 6) == sep
                    && digits(s, i, 3) && digits(s, i + 4, 2) && digits(s, i + 7, 4) && Chars.numberEnd(s, i + 11)) {
                if (valid(num(s, i, 3), num(s, i + 4, 2), num(s, i + 7, 4))) {
                    sink.found(i, i + 11);
                }
            } else if (digits(s, i, 9) && Chars.numberEnd(s, i + 9) && !Chars.digitAt(s, i + 9)
                    && valid(num(s, i, 3), num(s, i + 3, 2), num(s, i + 5, 4))) {
                // nine bare digits are only an SSN when the text says so just before, or the
                // header of their table column does
                if (table == null) {
                    table = new TableColumns(s);
                }
                if (anchored(s, i) || KeyContext.of(table.headerAt(i)) == KeyContext.SSN) {
                    sink.found(i, i + 9);
                }
            }
        }
    }

    private static boolean valid(int area, int group, int serial) {
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    }

    private static boolean anchored(String s, int i) {
        for (int k = Math.max(0, i - 24); k + 3 <= i; k++) {
            if (s.regionMatches(true, k, "SSN", 0, 3) || s.regionMatches(true, k, "social security", 0, 15)) {
                return true;
            }
        }
        return false;
    }

    private static boolean digits(String s, int from, int len) {
        if (from + len > s.length()) {
            return false;
        }
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
