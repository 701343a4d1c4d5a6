package io.inferencepam.pam.auth;

/**
 * A model-name pattern. Model names have segments: Ollama {@code registry/namespace/model:tag},
 * Hugging Face {@code org/name}, digests {@code name@sha256:…}. {@code *} matches any run of
 * characters within one segment (also empty): {@code /}, {@code :} and {@code @} end it, so
 * {@code llama-3-*} does not match {@code llama-3-x/gpt-4o}. {@code **} (two or more stars) matches
 * any run including separators; {@code ?} one character other than a separator; everything else
 * itself (case-sensitive, as model servers treat names).
 *
 * <p>Matching never uses a regex: {@link #matches} simulates the pattern as a set of positions
 * (at most pattern-length steps per name character) and {@link #matchesAcrossSegments} is a
 * two-pointer walk, so a hostile model name cannot cause backtracking.
 */
public record Glob(String pattern) {

    public Glob {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("empty pattern");
        }
    }

    /** Characters that end a segment for {@code *} and {@code ?}. */
    static boolean isSeparator(char c) {
        return c == '/' || c == ':' || c == '@';
    }

    /** The allow reading: {@code *} and {@code ?} stay within a segment, {@code **} crosses. */
    public boolean matches(String text) {
        if (!hasSeparator(text)) {
            // without separators in the name, * and ** mean the same: the cheap walk is exact
            return matchesAcrossSegments(text);
        }
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
     * The deny reading: every star run crosses separators and {@code ?} is any character, as all
     * patterns matched before {@code **} existed, so no upgrade turns a denied model into an allowed one.
     */
    public boolean matchesAcrossSegments(String text) {
        int p = 0;
        int t = 0;
        int starP = -1;
        int starT = 0;
        while (t < text.length()) {
            // The wildcard is tested first: a '*' in the pattern must never be consumed as a literal
            // against a '*' in the name, or backtracking would resume from the wrong star and a deny
            // rule like "secret-*" would not match "secret-*x".
            if (p < pattern.length() && pattern.charAt(p) == '*') {
                starP = p++;
                starT = t;
            } else if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == text.charAt(t))) {
                p++;
                t++;
            } else if (starP >= 0) {
                p = starP + 1;
                t = ++starT;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
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
