package io.inferencepam.pam.mask.detect;

import java.util.List;

/**
 * Credentials recognisable by a vendor prefix (GitHub ghp_…, Slack xoxb-…, OpenAI sk-…, AWS
 * AKIA…): each prefix is located with {@link String#indexOf(String, int)}, then a bounded run of
 * the token alphabet is read. Too short or too long runs are not tokens.
 */
public final class PrefixTokenDetector implements Detector {
    /** Token body alphabet. */
    public enum Alphabet {
        UPPER_DIGITS, ALNUM, ALNUM_UNDERSCORE, ALNUM_DASH, ALNUM_DASH_UNDERSCORE;

        boolean accepts(char c) {
            return switch (this) {
                case UPPER_DIGITS -> Chars.upper(c) || Chars.digit(c);
                case ALNUM -> Chars.alnum(c);
                case ALNUM_UNDERSCORE -> Chars.alnum(c) || c == '_';
                case ALNUM_DASH -> Chars.alnum(c) || c == '-';
                case ALNUM_DASH_UNDERSCORE -> Chars.alnum(c) || c == '-' || c == '_';
            };
        }
    }

    /** One prefix family: the prefixes, the body alphabet and its length bounds. */
    public record Family(List<String> prefixes, Alphabet alphabet, int minBody, int maxBody, boolean needsDigit) {
        public Family {
            prefixes = List.copyOf(prefixes);
            if (prefixes.isEmpty() || commonStart(prefixes).isEmpty()) {
                throw new IllegalArgumentException("a family needs prefixes with a common start");
            }
        }

        String commonStart() {
            return commonStart(prefixes);
        }

        private static String commonStart(List<String> prefixes) {
            String c = prefixes.get(0);
            for (String p : prefixes) {
                int k = 0;
                while (k < c.length() && k < p.length() && c.charAt(k) == p.charAt(k)) {
                    k++;
                }
                c = c.substring(0, k);
            }
            return c;
        }

        /** Offset of a char all prefixes share that is rare in prose (not a lower-case letter), else 0. */
        int anchor() {
            int min = Integer.MAX_VALUE;
            for (String p : prefixes) {
                min = Math.min(min, p.length());
            }
            for (int k = min - 1; k >= 0; k--) {
                char c = prefixes.get(0).charAt(k);
                boolean shared = true;
                for (String p : prefixes) {
                    shared &= p.charAt(k) == c;
                }
                if (shared && !Chars.lower(c)) {
                    return k;
                }
            }
            return 0;
        }

        String prefixAt(String s, int at) {
            if (at < 0) {
                return null;
            }
            for (String p : prefixes) {
                if (s.startsWith(p, at)) {
                    return p;
                }
            }
            return null;
        }
    }

    /**
     * What {@link #scan} needs of a family, derived once: the anchor and the shared start cost a
     * few substrings each, which per scanned string value added up to more allocation than the
     * rest of the scan.
     */
    private record Plan(Family family, int anchor, char anchorChar, String common) {
        static Plan of(Family f) {
            int anchor = f.anchor();
            return new Plan(f, anchor, f.prefixes().get(0).charAt(anchor), f.commonStart());
        }
    }

    private final String name;
    private final List<Plan> plans;

    public PrefixTokenDetector(String name, List<Family> families) {
        this.name = name;
        this.plans = families.stream().map(Plan::of).toList();
    }

    public static PrefixTokenDetector github() {
        return new PrefixTokenDetector("github_token", List.of(
                new Family(List.of("ghp_", "gho_", "ghs_", "ghu_", "ghr_"), Alphabet.ALNUM, 30, 255, false),
                new Family(List.of("github_pat_"), Alphabet.ALNUM_UNDERSCORE, 22, 255, false)));
    }

    public static PrefixTokenDetector slack() {
        return new PrefixTokenDetector("slack_token", List.of(new Family(
                List.of("xoxb-", "xoxa-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"), Alphabet.ALNUM_DASH, 10, 255, true)));
    }

    public static PrefixTokenDetector openAi() {
        return new PrefixTokenDetector("openai_key", List.of(new Family(
                List.of("sk-"), Alphabet.ALNUM_DASH_UNDERSCORE, 20, 255, true)));
    }

    public static PrefixTokenDetector awsAccessKey() {
        return new PrefixTokenDetector("aws_access_key", List.of(new Family(
                List.of("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA"),
                Alphabet.UPPER_DIGITS, 16, 16, false)));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void scan(String s, Sink sink) {
        for (int i = 0; i < plans.size(); i++) {
            scan(s, plans.get(i), sink);
        }
    }

    private static void scan(String s, Plan plan, Sink sink) {
        Family f = plan.family();
        Alphabet alphabet = f.alphabet();
        int minBody = f.minBody();
        int maxBody = f.maxBody();
        boolean needsDigit = f.needsDigit();
        // one vectorised indexOf(char) pass per family on a shared rare char, then the exact prefix
        int anchor = plan.anchor();
        char anchorChar = plan.anchorChar();
        // one comparison of the shared start ("xox", "gh") rejects most anchor hits before the
        // per-prefix comparisons (a text full of '-' or '_' would otherwise try every prefix)
        String common = plan.common();
        int from = 0;
        int pos;
        while ((pos = s.indexOf(anchorChar, from)) >= 0) {
            int at = pos - anchor;
            from = pos + 1;
            String prefix = at < 0 || !s.startsWith(common, at) ? null : f.prefixAt(s, at);
            if (prefix == null || !Chars.startBoundary(s, at)) {
                continue;
            }
            int j = at + prefix.length();
            int limit = Math.min(s.length(), j + maxBody + 1);
            boolean digit = false;
            while (j < limit && alphabet.accepts(s.charAt(j))) {
                digit |= Chars.digit(s.charAt(j));
                j++;
            }
            int body = j - at - prefix.length();
            if (body < minBody || body > maxBody || (needsDigit && !digit) || !Chars.endBoundary(s, j)) {
                // any later prefix inside this run ends at the same j and fails the same way: skip the run
                from = Math.max(from, j);
                continue;
            }
            sink.found(at, j);
            from = j;
        }
    }
}
