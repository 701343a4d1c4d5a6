package io.inferencepam.pam.guard.prompt;

import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * A prefilter in front of the keyword automaton: a keyword can only start where the text's next
 * {@code g} characters (g = min(8, shortest keyword), packed a byte each into a {@code long}) hash to a bit that one of the keywords' first
 * {@code g} characters set. Reading a text costs a shift, a multiply and a bit test per character;
 * the automaton then reads only the windows {@code [start, start + longest keyword with that gram
 * hash)} from candidate starts (merged when they overlap). A set bit is confirmed against the keywords' grams (a sorted
 * array), so only positions where some keyword's first {@code g} characters really are (up to the low
 * byte of each character, which only adds candidates) open a window; the automaton still sees every
 * match; in text without keywords (the common case) it reads nothing.
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
    /** Per word of {@link #bits}: the longest keyword whose gram sets a bit in it (the window to read). */
    private final int[] longest;
    /** Every keyword's packed gram, sorted: confirms a set bit (hash collisions otherwise open windows). */
    private final long[] grams;

    GramFilter(Collection<String> keywords) {
        int shortest = Integer.MAX_VALUE;
        for (String k : keywords) {
            shortest = Math.min(shortest, k.length());
        }
        gram = Math.min(8, shortest);
        // 256 bits per keyword, at least 2^16 (8 KiB: stays in the L1 cache) and at most 2^21 (256 KiB):
        // a set bit is a candidate at under 0.5% of positions, which the exact gram check then confirms
        int log = Math.max(16, Math.min(21, 64 - Long.numberOfLeadingZeros(Math.max(1, keywords.size()) * 256L - 1)));
        shift = 64 - log;
        bits = new long[1 << (log - 6)];
        longest = new int[bits.length];
        long[] all = new long[keywords.size()];
        int g = 0;
        for (String k : keywords) {
            long h = 0;
            for (int i = 0; i < gram; i++) {
                h = (h << 8) | (k.charAt(i) & 0xFF);
            }
            int b = index(h);
            bits[b >>> 6] |= 1L << b;
            longest[b >>> 6] = Math.max(longest[b >>> 6], k.length());
            all[g++] = h;
        }
        grams = java.util.Arrays.stream(all).sorted().distinct().toArray();
    }

    private int index(long packed) {
        return (int) ((packed * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /** Byte tables for the scan: ASCII lower-casing (the folded form of ASCII), and the identity. */
    private static final byte[] LOWER_ASCII = new byte[256];
    private static final byte[] IDENTITY = new byte[256];

    static {
        for (int c = 0; c < 256; c++) {
            LOWER_ASCII[c] = (byte) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            IDENTITY[c] = (byte) c;
        }
    }

    /**
     * Calls {@code windows} with every stretch of {@code text} where a keyword may occur.
     *
     * @param ascii      {@code text} is ASCII: its low bytes are its bytes, copied out in one go
     * @param lowerAscii the keywords are case-folded and {@code text} is ASCII: fold it on the fly
     *                   instead of reading a folded copy (for ASCII, folding is lower-casing)
     */
    void candidates(String text, boolean ascii, boolean lowerAscii, Windows windows) {
        // The loop reads a byte array rather than the String (String.charAt checks the coder and the
        // bounds on every character): the prompt rules' part of a 4 KiB chat decision costs 9 % less
        // (pam-guard.md, session 6). Same grams either way: each character's low byte.
        byte[] low = ascii ? text.getBytes(StandardCharsets.ISO_8859_1) : lowBytes(text);
        // fields in locals: the loop calls out (rarely), after which the JIT would reload them
        final long[] bitSet = bits;
        final int[] lengths = longest;
        final long[] known = grams;
        final int sh = shift;
        final byte[] table = lowerAscii ? LOWER_ASCII : IDENTITY;
        final long mask = gram == 8 ? -1L : (1L << (8 * gram)) - 1;
        final int n = low.length;
        long packed = 0;
        for (int i = 0; i < gram - 1 && i < n; i++) {
            packed = (packed << 8) | (table[low[i] & 0xFF] & 0xFF);
        }
        int from = -1;
        int to = -1;
        for (int i = gram - 1; i < n; i++) {
            packed = ((packed << 8) | (table[low[i] & 0xFF] & 0xFF)) & mask;
            int b = (int) ((packed * 0x9E3779B97F4A7C15L) >>> sh);
            if ((bitSet[b >>> 6] & (1L << b)) == 0 || java.util.Arrays.binarySearch(known, packed) < 0) {
                continue;
            }
            int start = i + 1 - gram;
            if (start >= to) {
                if (to > from && windows.scan(from, to)) {
                    return;
                }
                from = start;
            }
            to = Math.max(to, Math.min(n, start + lengths[b >>> 6]));
        }
        if (to > from) {
            windows.scan(from, to);
        }
    }

    /** The low byte of each character: what the keywords' grams are made of (a higher byte only adds candidates). */
    private static byte[] lowBytes(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) text.charAt(i);
        }
        return out;
    }
}
