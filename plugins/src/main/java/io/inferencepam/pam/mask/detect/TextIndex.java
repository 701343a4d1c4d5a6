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
            // over a char array: a plain indexed loop the JIT unrolls, unlike charAt's per-call checks
            char[] s = text.toCharArray();
            int len = s.length;
            int i = 0;
            while (i < len) {
                // skip to the next digit, then past its run
                while (i < len && (char) (s[i] - '0') > 9) {
                    i++;
                }
                if (i == len) {
                    break;
                }
                if (n + 2 > out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
                if (i > 0 && (s[i - 1] == '+' || s[i - 1] == '(')) {
                    out[n++] = i - 1;
                }
                out[n++] = i;
                while (i < len && (char) (s[i] - '0') <= 9) {
                    i++;
                }
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
