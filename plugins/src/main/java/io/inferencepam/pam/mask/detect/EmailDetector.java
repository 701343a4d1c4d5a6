package io.inferencepam.pam.mask.detect;

/**
 * E-mail addresses, anchored on '@': the local part is read backwards (at most 64 characters,
 * RFC 5321), the domain forwards (at most 253); the domain needs a dot and an alphabetic TLD.
 * Every '@' costs at most 64 + 253 steps, so "@@@@…" and long local parts stay linear.
 */
public final class EmailDetector implements Detector {
    private final java.util.Set<NotPersonal> keep;

    public EmailDetector() {
        this(NotPersonal.DEFAULT);
    }

    /** @param keep with {@link NotPersonal#GIT_REMOTES}, {@code git@host:org/repo.git} is not an address */
    public EmailDetector(java.util.Set<NotPersonal> keep) {
        this.keep = java.util.Set.copyOf(keep);
    }
    @Override
    public String name() {
        return "email";
    }

    @Override
    public void scan(String s, Sink sink) {
        int from = 0;
        int at;
        while ((at = s.indexOf('@', from)) >= 0) {
            from = at + 1;
            int l = at;
            int min = Math.max(0, at - 64);
            while (l > min && local(s.charAt(l - 1))) {
                l--;
            }
            while (l < at && !Chars.alnum(s.charAt(l))) {
                l++;
            }
            if (l == at || s.charAt(at - 1) == '.') {
                continue;
            }
            int max = Math.min(s.length(), at + 1 + 253);
            int r = at + 1;
            while (r < max && domain(s.charAt(r))) {
                r++;
            }
            while (r > at + 1 && (s.charAt(r - 1) == '.' || s.charAt(r - 1) == '-')) {
                r--;
            }
            if (!validDomain(s, at + 1, r) || !Chars.endBoundary(s, r)) {
                continue;
            }
            if (!NotPersonal.keepEmail(keep, s, l, r)) {
                sink.found(l, r);
            }
            from = r;
        }
    }

    private static boolean validDomain(String s, int from, int to) {
        if (to - from < 4) {
            return false;
        }
        int lastDot = -1;
        char prev = '.';
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (prev == '.' || prev == '-') {
                    return false;
                }
                lastDot = i;
            } else if (c == '-' && prev == '.') {
                return false;
            }
            prev = c;
        }
        if (lastDot < 0 || to - lastDot - 1 < 2) {
            return false;
        }
        for (int i = lastDot + 1; i < to; i++) {
            char c = s.charAt(i);
            if (!(Chars.upper(c) || Chars.lower(c))) {
                return false;
            }
        }
        return true;
    }

    private static boolean local(char c) {
        return Chars.alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
    }

    private static boolean domain(char c) {
        return Chars.alnum(c) || c == '.' || c == '-';
    }
}
