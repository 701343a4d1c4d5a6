package io.inferencepam.pam.mask.detect;

import java.util.Arrays;

/**
 * Facts about one text shared by the detectors that scan it, computed once and lazily: the
 * positions where a number can start (the first digit of a digit run, or a '+' / '(' right before
 * a digit). The numeric detectors (card, SSN, phone, IPv4) visit only these positions instead of
 * each walking every character. Confined to one {@link DetectorSet#find} call.
 */
public final class TextIndex {
    private final String text;
    private int[] numberStarts;
    private int count;

    public TextIndex(String text) {
        this.text = text;
    }

    /** Ascending positions; only the first {@link #numberStartCount()} entries are valid. */
    int[] numberStarts() {
        if (numberStarts == null) {
            int[] out = new int[16];
            int n = 0;
            boolean prevDigit = false;
            String s = text;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                boolean digit = c >= '0' && c <= '9';
                if (digit && !prevDigit) {
                    if (n + 2 > out.length) {
                        out = Arrays.copyOf(out, out.length * 2);
                    }
                    if (i > 0 && (s.charAt(i - 1) == '+' || s.charAt(i - 1) == '(')) {
                        out[n++] = i - 1;
                    }
                    out[n++] = i;
                }
                prevDigit = digit;
            }
            numberStarts = out;
            count = n;
        }
        return numberStarts;
    }

    int numberStartCount() {
        numberStarts();
        return count;
    }
}
