package io.inferencepam.pam.auth;

/**
 * A model-name pattern. Model names have segments: Ollama {@code registry/namespace/model:tag},
 * Hugging Face {@code org/name}, digests {@code name@sha256:…}. {@code *} matches any run of
 * name characters within one segment (also none): {@code /}, {@code :}, {@code @} and every other
 * character that is not a letter, digit, {@code .}, {@code _} or {@code -} end it (see
 * {@link #isSeparator}), so {@code llama-3-*} matches neither {@code llama-3-x/gpt-4o} nor
 * {@code llama-3-x∕gpt-4o}. {@code **} (two or more stars) matches any run including separators;
 * {@code ?} one name character; everything else itself (case-sensitive, as model servers treat names).
 *
 * <p>Matching never uses a regex: a two-pointer walk (per segment when the pattern has no
 * {@code **}), or for a {@code **} pattern against a name with separators a simulation of the
 * pattern as a set of positions (at most pattern-length steps per name character), so a hostile
 * model name cannot cause backtracking.
 */
public record Glob(String pattern) {

    public Glob {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("empty pattern");
        }
    }

    /**
     * Characters {@code *} and {@code ?} may match: the characters of model names (Ollama names and
     * tags, Hugging Face ids, OpenAI ids: ASCII letters, digits, {@code . _ -}). Everything else ends
     * a segment: the real separators {@code / : @}, and whatever a proxy or a code-page conversion
     * behind the gateway might turn into one ({@code %2F}, {@code \}, {@code ∕ ／ ：}, controls,
     * blanks). A pattern that must match such a character writes it literally, or uses {@code **}.
     */
    static boolean isSeparator(char c) {
        return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
    }

    /** A separator written literally in the pattern (the wildcards are not separators). */
    private static boolean isPatternSeparator(char c) {
        return c != '*' && c != '?' && isSeparator(c);
    }

    /** The allow reading: {@code *} and {@code ?} stay within a segment, {@code **} crosses. */
    public boolean matches(String text) {
        if (!hasSeparator(text)) {
            // without separators in the name, * and ** mean the same: the cheap walk is exact
            return matchesAcrossSegments(text);
        }
        if (pattern.indexOf("**") < 0) {
            return matchesSegmentBySegment(text);
        }
        if (runEnd(0) == pattern.length()) {
            return true; // "**" (or more stars) alone: every model
        }
        return pattern.length() < Long.SIZE ? matchesWithBits(text) : matchesWithArrays(text);
    }

    /** {@link #matches} for {@code **} patterns of 64 characters or more: the set of positions as arrays. */
    private boolean matchesWithArrays(String text) {
        int m = pattern.length();
        boolean[] cur = new boolean[m + 1];
        boolean[] next = new boolean[m + 1];
        cur[0] = true;
        close(cur);
        for (int t = 0; t < text.length(); t++) {
            char c = text.charAt(t);
            boolean sep = isSeparator(c);
            java.util.Arrays.fill(next, false);
            boolean alive = false;
            for (int i = 0; i < m; i++) {
                if (!cur[i]) {
                    continue;
                }
                char pc = pattern.charAt(i);
                if (pc == '*') {
                    // a state on a star run stays there while the run may consume c
                    if (!sep || runEnd(i) - i >= 2) {
                        next[i] = true;
                        alive = true;
                    }
                } else if (pc == '?' ? !sep : pc == c) {
                    next[i + 1] = true;
                    alive = true;
                }
            }
            if (!alive) {
                return false;
            }
            close(next);
            boolean[] swap = cur;
            cur = next;
            next = swap;
        }
        return cur[m];
    }

    /**
     * Without {@code **} nothing in the pattern consumes a separator except the same separator
     * written literally: pattern and name must have the same separators in the same order, and each
     * segment matches its counterpart (a walk per segment, no allocation).
     */
    private boolean matchesSegmentBySegment(String text) {
        int ps = 0;
        int ts = 0;
        while (true) {
            int pe = nextPatternSeparator(ps);
            int te = nextSeparator(text, ts);
            if (!walk(ps, pe, text, ts, te)) {
                return false;
            }
            if (pe == pattern.length() || te == text.length()) {
                return pe == pattern.length() && te == text.length();
            }
            if (pattern.charAt(pe) != text.charAt(te)) {
                return false;
            }
            ps = pe + 1;
            ts = te + 1;
        }
    }

    private int nextPatternSeparator(int from) {
        int i = from;
        while (i < pattern.length() && !isPatternSeparator(pattern.charAt(i))) {
            i++;
        }
        return i;
    }

    private static int nextSeparator(String s, int from) {
        int i = from;
        while (i < s.length() && !isSeparator(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /**
     * The deny reading: every star run crosses separators and {@code ?} is any character, as all
     * patterns matched before {@code **} existed, so no upgrade turns a denied model into an allowed one.
     */
    public boolean matchesAcrossSegments(String text) {
        return walk(0, pattern.length(), text, 0, text.length());
    }

    /** Two-pointer glob walk of pattern[pFrom, pTo) against text[tFrom, tTo), every star crossing everything. */
    private boolean walk(int pFrom, int pTo, String text, int tFrom, int tTo) {
        int p = pFrom;
        int t = tFrom;
        int starP = -1;
        int starT = 0;
        while (t < tTo) {
            // The wildcard is tested first: a '*' in the pattern must never be consumed as a literal
            // against a '*' in the name, or backtracking would resume from the wrong star and a deny
            // rule like "secret-*" would not match "secret-*x".
            if (p < pTo && pattern.charAt(p) == '*') {
                starP = p++;
                starT = t;
            } else if (p < pTo && (pattern.charAt(p) == '?' || pattern.charAt(p) == text.charAt(t))) {
                p++;
                t++;
            } else if (starP >= 0) {
                p = starP + 1;
                t = ++starT;
            } else {
                return false;
            }
        }
        while (p < pTo && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pTo;
    }

    /** {@link #matches} for patterns shorter than 64: the set of positions is one {@code long}. */
    private boolean matchesWithBits(String text) {
        int m = pattern.length();
        long cur = closeBits(1L);
        for (int t = 0; t < text.length() && cur != 0; t++) {
            char c = text.charAt(t);
            boolean sep = isSeparator(c);
            long next = 0;
            for (long rest = cur; rest != 0; rest &= rest - 1) {
                int i = Long.numberOfTrailingZeros(rest);
                if (i == m) {
                    continue; // the end of the pattern consumes nothing
                }
                char pc = pattern.charAt(i);
                if (pc == '*') {
                    if (!sep || runEnd(i) - i >= 2) {
                        next |= 1L << i;
                    }
                } else if (pc == '?' ? !sep : pc == c) {
                    next |= 1L << (i + 1);
                }
            }
            cur = closeBits(next);
        }
        return (cur & (1L << m)) != 0;
    }

    private long closeBits(long states) {
        long out = states;
        for (long rest = states; rest != 0; rest &= rest - 1) {
            int i = Long.numberOfTrailingZeros(rest);
            if (i < pattern.length() && pattern.charAt(i) == '*') {
                out |= 1L << runEnd(i);
            }
        }
        return out;
    }

    /** Adds the positions reachable without consuming a character: past a star run (it may match nothing). */
    private void close(boolean[] states) {
        for (int i = 0; i < pattern.length(); i++) {
            if (states[i] && pattern.charAt(i) == '*') {
                states[runEnd(i)] = true;
            }
        }
    }

    /** The position after the run of stars that starts at {@code i}. */
    private int runEnd(int i) {
        int j = i;
        while (j < pattern.length() && pattern.charAt(j) == '*') {
            j++;
        }
        return j;
    }

    private static boolean hasSeparator(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (isSeparator(text.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return pattern;
    }
}
