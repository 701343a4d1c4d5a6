package io.inferencepam.pam.auth;

/**
 * A model-name pattern: {@code *} matches any run of characters (also empty), {@code ?} exactly
 * one, everything else itself (case-sensitive, as model servers treat names). Matching is a
 * linear-time two-pointer walk, never a regex, so a hostile model name cannot cause backtracking.
 */
public record Glob(String pattern) {

    public Glob {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("empty pattern");
        }
    }

    public boolean matches(String text) {
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

    @Override
    public String toString() {
        return pattern;
    }
}
