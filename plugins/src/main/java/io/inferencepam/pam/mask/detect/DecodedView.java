package io.inferencepam.pam.mask.detect;

/**
 * The text with the encodings that hide a value from the detectors undone — URL percent-encoding
 * ({@code %40}), HTML character references ({@code &#64;}, {@code &#x40;}, {@code &commat;}…) and
 * JSON/JavaScript {@code \\uXXXX} escapes written into text (a logged payload) — with, for each
 * decoded character, where it came from, so a value found in the decoded text is masked in its
 * encoded spelling. Only characters that matter to a value are decoded (printable ASCII and the
 * no-break space); one linear pass.
 */
final class DecodedView {
    final String text;
    /** For decoded char k: its first original char, and the end of its original spelling. */
    private final int[] from;
    private final int[] to;

    private DecodedView(String text, int[] from, int[] to) {
        this.text = text;
        this.from = from;
        this.to = to;
    }

    int start(int k) {
        return from[k];
    }

    int end(int kEnd) {
        return to[kEnd - 1];
    }

    /** The decoded view, or null when the text holds nothing to decode. */
    static DecodedView of(String s) {
        if (s.indexOf('%') < 0 && s.indexOf('&') < 0 && s.indexOf('\\') < 0) {
            return null;
        }
        int n = s.length();
        StringBuilder out = new StringBuilder(n);
        int[] from = new int[n];
        int[] to = new int[n];
        boolean any = false;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            int len = 0;
            int v = -1;
            if (c == '%' && i + 2 < n && Chars.hex(s.charAt(i + 1)) && Chars.hex(s.charAt(i + 2))) {
                v = Integer.parseInt(s.substring(i + 1, i + 3), 16);
                len = 3;
            } else if (c == '\\' && i + 5 < n && s.charAt(i + 1) == 'u' && hex4(s, i + 2)) {
                v = Integer.parseInt(s.substring(i + 2, i + 6), 16);
                len = 6;
            } else if (c == '&') {
                int semi = s.indexOf(';', i);
                if (semi > i + 1 && semi - i <= 10) {
                    v = entity(s.substring(i + 1, semi));
                    len = semi + 1 - i;
                }
            }
            if (v >= 0 && ((v >= 0x20 && v < 0x7F) || v == 0xA0)) {
                from[out.length()] = i;
                to[out.length()] = i + len;
                out.append((char) v);
                i += len;
                any = true;
            } else {
                from[out.length()] = i;
                to[out.length()] = i + 1;
                out.append(c);
                i++;
            }
        }
        return any ? new DecodedView(out.toString(), from, to) : null;
    }

    private static boolean hex4(String s, int at) {
        for (int k = at; k < at + 4; k++) {
            if (!Chars.hex(s.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    private static int entity(String name) {
        if (name.startsWith("#x") || name.startsWith("#X")) {
            return parse(name.substring(2), 16);
        }
        if (name.startsWith("#")) {
            return parse(name.substring(1), 10);
        }
        return switch (name) {
            case "commat" -> '@';
            case "period" -> '.';
            case "plus" -> '+';
            case "amp" -> '&';
            case "nbsp" -> 0xA0;
            case "lpar" -> '(';
            case "rpar" -> ')';
            case "hyphen", "dash" -> '-';
            case "colon" -> ':';
            case "sol" -> '/';
            case "lowbar" -> '_';
            default -> -1;
        };
    }

    private static int parse(String digits, int radix) {
        if (digits.isEmpty() || digits.length() > 6) {
            return -1;
        }
        try {
            return Integer.parseInt(digits, radix);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
