package io.inferencepam.pam.mask.detect;

/**
 * IP addresses. IPv4: four dotted decimal octets 0–255 without leading zeros, not part of a longer
 * dotted number (versions such as 1.2.3.4.5). IPv6: RFC 4291 text form — eight groups of 1–4 hex
 * digits, or fewer with one "::", optionally ending in an IPv4 address; at least one digit. Times
 * such as 12:30:45 have neither eight groups nor "::".
 */
public final class IpDetector implements Detector {
    private final boolean v6;
    private final java.util.Set<NotPersonal> keep;

    private IpDetector(boolean v6, java.util.Set<NotPersonal> keep) {
        this.v6 = v6;
        this.keep = java.util.Set.copyOf(keep);
    }

    public static IpDetector v4() {
        return v4(NotPersonal.DEFAULT);
    }

    public static IpDetector v6() {
        return v6(NotPersonal.DEFAULT);
    }

    /** @param keep the kinds of technical addresses left alone (loopback, documentation, versions…) */
    public static IpDetector v4(java.util.Set<NotPersonal> keep) {
        return new IpDetector(false, keep);
    }

    public static IpDetector v6(java.util.Set<NotPersonal> keep) {
        return new IpDetector(true, keep);
    }

    @Override
    public String name() {
        return v6 ? "ipv6" : "ipv4";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        int anchor = -1;
        for (int i = 0; i < n; i++) {
            // every address has a separator within 4 chars of its start (':' for v6, '.' for v4):
            // jump to the next one instead of trying every word start
            if (anchor < i) {
                anchor = s.indexOf(v6 ? ':' : '.', i);
                if (anchor < 0) {
                    return;
                }
            }
            if (anchor - i > 4) {
                i = anchor - 5;
                continue;
            }
            char c = s.charAt(i);
            int end;
            if (v6) {
                if (!(Chars.hex(c) || c == ':') || (i > 0 && (Chars.wordChar(s.charAt(i - 1)) || s.charAt(i - 1) == ':'))) {
                    continue;
                }
                end = ipv6(s, i);
            } else {
                if (!Chars.digit(c) || !Chars.numberStart(s, i)) {
                    continue;
                }
                end = ipv4(s, i);
                // a ":port" may follow; another ".digit" means a longer dotted number
                if (end > 0 && (!Chars.endBoundary(s, end) || (s.startsWith(".", end) && Chars.digitAt(s, end + 1)))) {
                    end = -1;
                }
            }
            if (end > 0) {
                if (!(v6 ? NotPersonal.keepIpv6(keep, s, i, end) : NotPersonal.keepIpv4(keep, s, i, end))) {
                    sink.found(i, end);
                }
                i = end - 1;
            }
        }
    }

    /** End of a dotted quad starting at {@code i}, or -1. */
    static int ipv4(String s, int i) {
        int j = i;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (j >= s.length() || s.charAt(j) != '.') {
                    return -1;
                }
                j++;
            }
            int start = j;
            int v = 0;
            while (j < s.length() && Chars.digit(s.charAt(j)) && j - start < 3) {
                v = v * 10 + (s.charAt(j) - '0');
                j++;
            }
            int len = j - start;
            if (len == 0 || v > 255 || (len > 1 && s.charAt(start) == '0')) {
                return -1;
            }
        }
        if (j < s.length() && Chars.digit(s.charAt(j))) {
            return -1;
        }
        return j;
    }

    private static int ipv6(String s, int i) {
        int n = s.length();
        int j = i;
        int groups = 0;
        boolean compressed = false;
        boolean digit = false;
        if (s.startsWith("::", j)) {
            compressed = true;
            j += 2;
        } else if (s.charAt(j) == ':') {
            return -1;
        }
        while (j < n && groups < 8) {
            int start = j;
            while (j < n && Chars.hex(s.charAt(j)) && j - start < 5) {
                if (Chars.digit(s.charAt(j))) {
                    digit = true;
                }
                j++;
            }
            int len = j - start;
            if (len == 0) {
                break;
            }
            if (len > 4) {
                return -1;
            }
            if (j < n && s.charAt(j) == '.' && groups <= 6 && (compressed || groups == 6)
                    && Chars.digitAt(s, j + 1)) {
                int end = ipv4(s, start);
                if (end < 0) {
                    return -1;
                }
                groups += 2;
                j = end;
                digit = true;
                break;
            }
            groups++;
            if (j + 1 < n && s.charAt(j) == ':' && s.charAt(j + 1) == ':') {
                if (compressed) {
                    return -1;
                }
                compressed = true;
                j += 2;
            } else if (j + 1 < n && s.charAt(j) == ':' && Chars.hex(s.charAt(j + 1))) {
                j++;
            } else {
                break;
            }
        }
        boolean ok = compressed ? groups <= 7 && groups >= 1 : groups == 8;
        if (!ok || !digit || j - i < 3) {
            return -1;
        }
        if (j < n && (Chars.wordChar(s.charAt(j)) || s.charAt(j) == ':')) {
            return -1;
        }
        // a '.' that does not start an embedded IPv4 is sentence punctuation ("from 2a01:4f8::1."),
        // unless a word follows it ("fe80::1.example" is a name, not an address)
        if (j + 1 < n && s.charAt(j) == '.' && Chars.wordChar(s.charAt(j + 1))) {
            return -1;
        }
        return j;
    }
}
