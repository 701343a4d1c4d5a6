package io.inferencepam.pam.mask.detect;

/**
 * Payment card numbers: 13–19 digits, optionally grouped by one consistent separator (space or
 * dash) the way cards are printed (groups of 4, or 4-6-5 / 4-6-4), a known issuer prefix
 * (2221–2720, 3, 4, 5, 6) and a valid Luhn checksum. A digit run
 * longer than 19 digits is skipped as a whole, so every character is visited a bounded number of
 * times (long digit runs are the classic adversarial input).
 */
public final class CardDetector extends IndexedDetector {
    @Override
    public String name() {
        return "card";
    }


    @Override
    public void scan(String s, TextIndex index, Sink sink) {
        int n = s.length();
        int[] d = new int[19];
        int[] groups = new int[20];
        int[] starts = index.numberStarts();
        int count0 = index.numberStartCount();
        int next = 0;
        for (int k = 0; k < count0; k++) {
            int i = starts[k];
            if (i < next || !Chars.digit(s.charAt(i)) || !Chars.numberStart(s, i)) {
                continue;
            }
            int count = 0;
            int j = i;
            char sep = 0;
            boolean tooLong = false;
            int group = 0;
            while (true) {
                int groupStart = count;
                while (j < n && Chars.digit(s.charAt(j))) {
                    if (count >= 19) {
                        tooLong = true;
                    } else {
                        d[count] = s.charAt(j) - '0';
                    }
                    count++;
                    j++;
                }
                if (group < groups.length) {
                    groups[group] = count - groupStart;
                }
                group++;
                if (j + 1 < n && (s.charAt(j) == ' ' || s.charAt(j) == '-') && Chars.digit(s.charAt(j + 1))
                        && (sep == 0 || sep == s.charAt(j))) {
                    sep = s.charAt(j);
                    j++;
                    continue;
                }
                break;
            }
            if (!tooLong && count >= 13 && Chars.numberEnd(s, j) && printedGrouping(groups, group) && issuer(d, count)
                    && luhn(d, count)) {
                sink.found(i, j);
            }
            next = j;
        }
    }

    /**
     * Compact, or grouped as cards are printed: 4-4-4-4 (and 4-4-4-1 … 4-4-4-4-3: fours, then a
     * shorter last group) or 4-6-5 / 4-6-4 (Amex, Diners). Other groupings are ids: the leading
     * groups of a UUID such as {@code 52762638-0766-4370-b486-…} are 8-4-4 digits that can pass Luhn.
     */
    static boolean printedGrouping(int[] groups, int count) {
        if (count == 1) {
            return true;
        }
        if (count > groups.length || groups[0] != 4) {
            return false;
        }
        if (count == 3 && groups[1] == 6) {
            return groups[2] == 4 || groups[2] == 5;
        }
        for (int g = 1; g < count - 1; g++) {
            if (groups[g] != 4) {
                return false;
            }
        }
        return groups[count - 1] >= 1 && groups[count - 1] <= 4;
    }

    static boolean luhn(int[] d, int count) {
        int sum = 0;
        for (int k = 0; k < count; k++) {
            int v = d[count - 1 - k];
            if ((k & 1) == 1) {
                v *= 2;
                if (v > 9) {
                    v -= 9;
                }
            }
            sum += v;
        }
        return sum % 10 == 0;
    }

    /** Excludes e.g. epoch-millisecond timestamps (leading 1) and zero-padded ids. */
    private static boolean issuer(int[] d, int count) {
        int first = d[0];
        if (first >= 3 && first <= 6) {
            return true;
        }
        if (first == 2 && count == 16) {
            int p = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
            return p >= 2221 && p <= 2720;
        }
        return false;
    }
}
