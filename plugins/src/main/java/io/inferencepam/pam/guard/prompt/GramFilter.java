package io.inferencepam.pam.guard.prompt;

import java.util.Collection;

/**
 * A prefilter in front of the keyword automaton: a keyword can only start where the text's next
 * {@code g} characters (g = min(4, shortest keyword)) hash to a bit that one of the keywords' first
 * {@code g} characters set. Reading a text costs a shift, a multiply and a bit test per character;
 * the automaton then reads only the windows {@code [start, start + longest keyword)} around candidate
 * starts (merged when they overlap). Hash collisions only add candidates, never remove one, so the
 * automaton still sees every match; in text without keywords (the common case) it reads nothing.
 * The idea is the literal prefilter of RE2 and Hyperscan, not a second matcher.
 */
final class GramFilter {

    /** Receives the windows to scan, in text order, not overlapping. */
    interface Windows {
        /** @return true to stop (everything that can match has matched) */
        boolean scan(int from, int to);
    }

    private final int gram;
    private final int shift;
    private final long[] bits;
    private final int longest;

    GramFilter(Collection<String> keywords) {
        int shortest = Integer.MAX_VALUE;
        int max = 0;
        for (String k : keywords) {
            shortest = Math.min(shortest, k.length());
            max = Math.max(max, k.length());
        }
        gram = Math.min(4, shortest);
        longest = max;
        // about 64 bits per keyword keeps false candidates near 1.5% per position, within 2^12..2^22 bits
        int log = Math.max(12, Math.min(22, 64 - Long.numberOfLeadingZeros(Math.max(1, keywords.size()) * 64L - 1)));
        shift = 32 - log;
        bits = new long[1 << (log - 6)];
        for (String k : keywords) {
            int h = 0;
            for (int i = 0; i < gram; i++) {
                h = (h << 8) | (k.charAt(i) & 0xFF);
            }
            int b = index(h);
            bits[b >>> 6] |= 1L << b;
        }
    }

    private int index(int packed) {
        return (packed * 0x9E3779B1) >>> shift;
    }

    /** ASCII lower-casing as a table: one load per character instead of a branch. */
    private static final char[] ASCII_LOWER = new char[128];

    static {
        for (char c = 0; c < 128; c++) {
            ASCII_LOWER[c] = c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
        }
    }

    /**
     * Calls {@code windows} with every stretch of {@code text} where a keyword may occur.
     *
     * @param lowerAscii the keywords are case-folded and {@code text} is ASCII: fold it on the fly
     *                   instead of reading a folded copy (for ASCII, folding is lower-casing)
     */
    void candidates(String text, boolean lowerAscii, Windows windows) {
        int mask = gram == 4 ? -1 : (1 << (8 * gram)) - 1;
        int packed = 0;
        int from = -1;
        int to = -1;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            packed = ((packed << 8) | ((lowerAscii ? ASCII_LOWER[c] : c) & 0xFF)) & mask;
            if (i + 1 < gram) {
                continue;
            }
            int b = index(packed);
            if ((bits[b >>> 6] & (1L << b)) == 0) {
                continue;
            }
            int start = i + 1 - gram;
            if (start >= to) {
                if (to > from && windows.scan(from, to)) {
                    return;
                }
                from = start;
            }
            to = Math.min(n, start + longest);
        }
        if (to > from) {
            windows.scan(from, to);
        }
    }
}
