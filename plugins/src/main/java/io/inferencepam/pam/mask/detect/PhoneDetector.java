package io.inferencepam.pam.mask.detect;

/**
 * Phone numbers in three shapes, each parsed by a bounded hand-written scanner:
 * <ul>
 *   <li>E.164-style international: '+', then 8–15 digits in groups (space, dash, dot, "(0)");</li>
 *   <li>North American: [1-] (AAA) EEE-NNNN / AAA-EEE-NNNN / AAA.EEE.NNNN / AAA EEE NNNN, with area
 *       and exchange codes starting 2–9;</li>
 *   <li>national trunk-prefixed: 0 then 10–11 digits in at least two groups (e.g. 020 7946 0958).</li>
 * </ul>
 * Bare digit runs, dates (2024-05-12), times and versions do not fit these shapes.
 */
public final class PhoneDetector extends IndexedDetector {
    @Override
    public String name() {
        return "phone";
    }


    @Override
    public void scan(String s, TextIndex index, Sink sink) {
        int[] starts = index.numberStarts();
        int count = index.numberStartCount();
        int next = 0;
        for (int k = 0; k < count; k++) {
            int i = starts[k];
            if (i < next) {
                continue;
            }
            char c = s.charAt(i);
            int end = -1;
            if (c == '+') {
                if (Chars.startBoundary(s, i) && !(i > 0 && Chars.digit(s.charAt(i - 1)))) {
                    end = international(s, i + 1);
                }
            } else if ((c == '(' && Chars.startBoundary(s, i)) || (Chars.digit(c) && Chars.numberStart(s, i))) {
                end = northAmerican(s, i);
                if (end < 0 && c == '0') {
                    end = national(s, i);
                }
            }
            if (end > 0) {
                sink.found(i, end);
                next = end;
            }
        }
    }

    private static boolean sep(char c) {
        return c == ' ' || c == '-' || c == '.';
    }

    private static int international(String s, int j) {
        int n = s.length();
        if (j >= n || !Chars.digit(s.charAt(j)) || s.charAt(j) == '0') {
            return -1;
        }
        int digits = 0;
        while (j < n) {
            char c = s.charAt(j);
            if (Chars.digit(c)) {
                if (++digits > 15) {
                    return -1;
                }
                j++;
            } else if (c == '(' ) {
                int k = j + 1;
                int inner = 0;
                while (k < n && Chars.digit(s.charAt(k)) && inner < 4) {
                    k++;
                    inner++;
                }
                if (inner == 0 || k >= n || s.charAt(k) != ')') {
                    break;
                }
                digits += inner;
                j = k + 1;
                if (j + 1 < n && sep(s.charAt(j)) && Chars.digit(s.charAt(j + 1))) {
                    j++;
                }
            } else if (sep(c) && j + 1 < n && (Chars.digit(s.charAt(j + 1)) || s.charAt(j + 1) == '(')
                    && Chars.digit(s.charAt(j - 1))) {
                j++;
            } else {
                break;
            }
        }
        return digits >= 8 && digits <= 15 && Chars.numberEnd(s, j) ? j : -1;
    }

    private static int northAmerican(String s, int i) {
        int n = s.length();
        int j = i;
        if (s.charAt(j) == '1' && j + 2 < n && (s.charAt(j + 1) == '-' || s.charAt(j + 1) == ' ')
                && (Chars.digit(s.charAt(j + 2)) || s.charAt(j + 2) == '(')) {
            j += 2;
        }
        char sep1;
        if (j < n && s.charAt(j) == '(') {
            if (!digitsAt(s, j + 1, 3) || j + 4 >= n || s.charAt(j + 4) != ')') {
                return -1;
            }
            if (s.charAt(j + 1) < '2') {
                return -1;
            }
            j += 5;
            if (j < n && (s.charAt(j) == ' ' || s.charAt(j) == '-')) {
                j++;
            }
            sep1 = 0;
        } else {
            if (!digitsAt(s, j, 3) || s.charAt(j) < '2' || j + 3 >= n || !sep(s.charAt(j + 3))) {
                return -1;
            }
            sep1 = s.charAt(j + 3);
            j += 4;
        }
        if (!digitsAt(s, j, 3) || s.charAt(j) < '2' || j + 3 >= n) {
            return -1;
        }
        char sep2 = s.charAt(j + 3);
        if (sep1 == 0 ? !sep(sep2) : sep2 != sep1) {
            return -1;
        }
        j += 4;
        if (!digitsAt(s, j, 4)) {
            return -1;
        }
        j += 4;
        return Chars.numberEnd(s, j) ? j : -1;
    }

    private static int national(String s, int i) {
        int n = s.length();
        int j = i;
        int digits = 0;
        int groups = 0;
        char sep = 0;
        while (true) {
            int start = j;
            while (j < n && Chars.digit(s.charAt(j))) {
                j++;
            }
            int len = j - start;
            if (len < 2 || (groups == 0 && len > 5)) {
                return -1;
            }
            digits += len;
            groups++;
            if (digits > 11) {
                return -1;
            }
            if (j + 1 < n && (s.charAt(j) == ' ' || s.charAt(j) == '-') && Chars.digit(s.charAt(j + 1))
                    && (sep == 0 || sep == s.charAt(j))) {
                sep = s.charAt(j);
                j++;
                continue;
            }
            break;
        }
        return groups >= 2 && digits >= 10 && Chars.numberEnd(s, j) ? j : -1;
    }

    private static boolean digitsAt(String s, int from, int len) {
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
}
