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
        Anchors anchors = null;
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
                if (anchors == null) {
                    anchors = new Anchors(s);
                }
                if (anchors.near(i) || KeyContext.of(table.headerAt(i)) == KeyContext.SSN) {
                    sink.found(i, i + 9);
                }
            }
        }
    }

    private static boolean valid(int area, int group, int serial) {
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    }

    /**
     * "SSN" or "social security" (any case) starting within the 24 characters before a number.
     * The text is read once, left to right, for all numbers of a scan (their positions ascend):
     * each position is compared once, not once per number within reach of it.
     */
    static final class Anchors {
        private final String s;
        /** Positions before it have been compared. */
        private int cursor;
        /** The last position where an anchor starts, or -1. */
        private int last = -1;

        Anchors(String s) {
            this.s = s;
        }

        /** True when an anchor starts in {@code [i - 24, i - 3]}; {@code i} must not descend. */
        boolean near(int i) {
            // an anchor before i - 24 is out of reach of this number and of every later one
            cursor = Math.max(cursor, i - 24);
            for (; cursor + 3 <= i; cursor++) {
                // both anchors start with an 's'; a non-ASCII char may fold to one (U+017F)
                char c = s.charAt(cursor);
                char c1 = cursor + 1 < s.length() ? s.charAt(cursor + 1) : 0;
                // then an 's' ("ssn") or an 'o' ("social"); non-ASCII chars are left to regionMatches
                if ((c == 's' || c == 'S' || c > 127) && (c1 > 127 || c1 == 's' || c1 == 'S' || c1 == 'o' || c1 == 'O') && (s.regionMatches(true, cursor, "SSN", 0, 3) || s.regionMatches(true, cursor, "social security", 0, 15))) {
                    last = cursor;
                }
            }
            return last >= 0 && last >= i - 24;
        }
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
