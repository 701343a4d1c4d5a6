package io.inferencepam.pam.mask.detect;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Technical values shaped like personal data that are left alone ({@code not_personal}): masking
 * them breaks code and configuration answers and protects nobody.
 */
public enum NotPersonal {
    /** 127.0.0.0/8 and ::1. */
    LOOPBACK,
    /** 0.0.0.0 and ::. */
    UNSPECIFIED,
    /** The documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and 2001:db8::/32 (RFC 3849). */
    DOCUMENTATION,
    /** Dotted quads that are versions: after "product/" (User-Agent), "v", or the word "version" just before. */
    VERSIONS,
    /** {@code git@host:org/repo.git}: an SSH remote (scp-like syntax), not an e-mail address. */
    GIT_REMOTES;

    public static final Set<NotPersonal> DEFAULT = EnumSet.allOf(NotPersonal.class);

    public String confName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static NotPersonal fromConf(String name) {
        return valueOf(name.toUpperCase(Locale.ROOT));
    }

    /** True when the IPv4 address {@code [start, end)} of {@code s} is one of the kept kinds. */
    static boolean keepIpv4(Set<NotPersonal> keep, String s, int start, int end) {
        if (keep.isEmpty()) {
            return false;
        }
        int[] o = new int[4];
        int k = 0;
        for (int i = start; i < end; i++) {
            char c = s.charAt(i);
            if (c == '.') {
                k++;
            } else {
                o[k] = o[k] * 10 + (c - '0');
            }
        }
        if (keep.contains(LOOPBACK) && o[0] == 127) {
            return true;
        }
        if (keep.contains(UNSPECIFIED) && o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 0) {
            return true;
        }
        if (keep.contains(DOCUMENTATION) && ((o[0] == 192 && o[1] == 0 && o[2] == 2) || (o[0] == 198 && o[1] == 51 && o[2] == 100)
                || (o[0] == 203 && o[1] == 0 && o[2] == 113))) {
            return true;
        }
        return keep.contains(VERSIONS) && version(s, start);
    }

    /** "Chrome/125.0.0.0", "v1.2.3.4", "version 11.2.0.4", "\"version\":\"19.3.0.5\"", "Version: 2.0.0.1". */
    private static boolean version(String s, int start) {
        if (start > 0) {
            char p = s.charAt(start - 1);
            if ((p == 'v' || p == 'V') && (start == 1 || !Chars.wordChar(s.charAt(start - 2)))) {
                return true;
            }
            if (p == '/' && start > 1 && Chars.alnum(s.charAt(start - 2))) {
                return true; // a product token: "Chrome/125.0.0.0", "Safari/537.36.0.1"
            }
        }
        int from = Math.max(0, start - 24);
        for (int i = start - 7; i >= from; i--) {
            if (s.regionMatches(true, i, "version", 0, 7)) {
                return true;
            }
        }
        return false;
    }

    /** True when the IPv6 address {@code [start, end)} of {@code s} is one of the kept kinds. */
    static boolean keepIpv6(Set<NotPersonal> keep, String s, int start, int end) {
        if (keep.isEmpty()) {
            return false;
        }
        String a = s.substring(start, end).toLowerCase(Locale.ROOT);
        if (keep.contains(DOCUMENTATION) && (a.startsWith("2001:db8:") || a.startsWith("2001:0db8:"))) {
            return true;
        }
        // canonical forms only: the all-zero spellings of :: and ::1 are as rare as they are harmless
        return (keep.contains(LOOPBACK) && (a.equals("::1") || a.equals("0:0:0:0:0:0:0:1")))
                || (keep.contains(UNSPECIFIED) && (a.equals("::") || a.equals("0:0:0:0:0:0:0:0")));
    }

    /**
     * True when the e-mail-shaped {@code [start, end)} is the user@host of an scp-like SSH remote:
     * followed by ':' and a path with a '/' or ending ".git" ({@code git@github.com:org/repo.git}).
     */
    static boolean keepEmail(Set<NotPersonal> keep, String s, int start, int end) {
        if (!keep.contains(GIT_REMOTES) || end >= s.length() || s.charAt(end) != ':') {
            return false;
        }
        int j = end + 1;
        boolean slash = false;
        while (j < s.length() && j - end < 256) {
            char c = s.charAt(j);
            if (Chars.alnum(c) || c == '_' || c == '-' || c == '.' || c == '~' || c == '/') {
                slash |= c == '/';
                j++;
            } else {
                break;
            }
        }
        return j > end + 1 && (slash || s.regionMatches(true, j - 4, ".git", 0, 4)) && !(s.charAt(j - 1) == '.' && !slash);
    }
}
