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
        }
    }

    private final String name;
    private final List<Family> families;

    public PrefixTokenDetector(String name, List<Family> families) {
        this.name = name;
        this.families = List.copyOf(families);
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
        for (Family f : families) {
            scan(s, f, sink);
        }
    }

    private static void scan(String s, Family f, Sink sink) {
        Alphabet alphabet = f.alphabet();
        int minBody = f.minBody();
        int maxBody = f.maxBody();
        boolean needsDigit = f.needsDigit();
        for (String prefix : f.prefixes()) {
            int from = 0;
            int at;
            while ((at = s.indexOf(prefix, from)) >= 0) {
                from = at + 1;
                if (!Chars.startBoundary(s, at)) {
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
}
