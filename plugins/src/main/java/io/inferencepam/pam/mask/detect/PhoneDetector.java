package io.inferencepam.pam.mask.detect;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Phone numbers, validated by Google's libphonenumber against the numbering plans of the route's
 * expected regions ({@code phone_regions}). A bounded hand-written scanner proposes candidates
 * (digits grouped by spaces, no-break spaces, '-', '.', '/', one "(…)" group, an optional leading
 * '+'); the library decides whether the digits are a valid number:
 * <ul>
 *   <li>'+' (or the international prefix "00"): valid in any region ({@code +33 6 12 34 56 78});</li>
 *   <li>otherwise valid for one of the expected regions, as dialled there ({@code 06.12.34.56.78},
 *       {@code 030/12345678}, {@code (030) 1234567}, {@code 090-1234-5678}, {@code (415) 555-0132}).</li>
 * </ul>
 * A run of digits without any separator is a phone only with a trunk prefix '0' or '+'
 * ({@code 0612345678}): bare ten-digit ids are too common to call a NANP phone. Each candidate
 * costs at most {@link #MAX_TRIES} library calls and the scan skips past every candidate, so the
 * cost stays linear in the text (the library's regexes run on at most {@link #MAX_CANDIDATE}
 * characters).
 */
public final class PhoneDetector extends IndexedDetector {
    /** The regions used when a conf names none: the countries of the languages pam-mask is tested in. */
    public static final List<String> DEFAULT_REGIONS = List.of("US", "GB", "DE", "FR", "JP");
    static final int MAX_CANDIDATE = 32;
    private static final int MAX_DIGITS = 15;
    private static final int MIN_DIGITS = 7;
    /** An ungrouped national number has at least 9 digits (FR 10, JP 10–11, DE 030123456…). */
    private static final int MIN_UNGROUPED_DIGITS = 9;
    /**
     * National numbers as written, trunk prefix included, are at most 12 digits in the plans we
     * know (FR 10, JP 11, GB 11, DE mobiles 12); some plans (DE) accept longer ones, but a longer
     * run without a '+' is far more often an id than a phone.
     */
    private static final int MAX_NATIONAL_DIGITS = 12;
    private static final int MAX_TRIES = 3;
    /** The longest national significant number the library knows (ITU-T E.164 allows 15 with the code). */
    private static final int MAX_NSN = 17;

    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();
    /** The country calling codes the library knows (those it maps to a region, "001" for non-geographic ones). */
    static final Set<Integer> CALLING_CODES = Set.copyOf(UTIL.getSupportedCallingCodes());

    private final List<String> regions;
    /** The regions where a national number is dialled with a leading 0: there, no 0 means no number. */
    private final Set<String> trunkZero;
    /** The country calling code of each region, in order. */
    private final int[] countryCodes;
    /** Possible national number lengths of the regions' calling codes, asked of the library once. */
    private final Map<Integer, Lengths> lengths;

    public PhoneDetector() {
        this(DEFAULT_REGIONS);
    }

    /** @param regions ISO 3166-1 alpha-2 codes libphonenumber supports (checked by {@link #unsupported}) */
    public PhoneDetector(List<String> regions) {
        this.regions = List.copyOf(regions);
        this.countryCodes = this.regions.stream().mapToInt(UTIL::getCountryCodeForRegion).toArray();
        this.trunkZero = this.regions.stream().filter(r -> "0".equals(UTIL.getNddPrefixForRegion(r, true)))
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
        // load the regions' metadata now, at conf time, rather than on the first response
        for (String r : this.regions) {
            UTIL.getExampleNumber(r);
        }
        Map<Integer, Lengths> byCode = new HashMap<>();
        for (int cc : countryCodes) {
            byCode.computeIfAbsent(cc, Lengths::of);
        }
        this.lengths = Map.copyOf(byCode);
    }

    /**
     * The national number lengths the library calls possible for one calling code, as bit sets
     * (bit k: k digits). Its possible-number checks compare only the length of the national
     * significant number with the plan's lists; asking them per candidate costs a metadata lookup
     * by a file name built anew each time, asking once per code costs nothing per candidate.
     */
    record Lengths(int any, int fixedLineOrMobile) {
        static Lengths of(int countryCode) {
            int any = 0;
            int fixedOrMobile = 0;
            for (int len = 1; len <= MAX_NSN; len++) {
                PhoneNumber probe = new PhoneNumber().setCountryCode(countryCode).setNationalNumber(Long.parseLong("2".repeat(len)));
                any |= UTIL.isPossibleNumber(probe) ? 1 << len : 0;
                fixedOrMobile |= UTIL.isPossibleNumberForType(probe, PhoneNumberUtil.PhoneNumberType.FIXED_LINE_OR_MOBILE) ? 1 << len : 0;
            }
            return new Lengths(any, fixedOrMobile);
        }
    }

    /** {@link PhoneNumberUtil#isPossibleNumber}, from the table for the regions' codes. */
    boolean possible(PhoneNumber n) {
        Lengths l = lengths.get(n.getCountryCode());
        return l == null ? UTIL.isPossibleNumber(n) : (l.any() & 1 << nsnLength(n)) != 0;
    }

    /** {@link PhoneNumberUtil#isPossibleNumberForType} for FIXED_LINE_OR_MOBILE, from the table for the regions' codes. */
    boolean possibleFixedLineOrMobile(PhoneNumber n) {
        Lengths l = lengths.get(n.getCountryCode());
        return l == null ? UTIL.isPossibleNumberForType(n, PhoneNumberUtil.PhoneNumberType.FIXED_LINE_OR_MOBILE)
                : (l.fixedLineOrMobile() & 1 << nsnLength(n)) != 0;
    }

    /** The length of {@link PhoneNumberUtil#getNationalSignificantNumber}: the kept leading zeros, then the number. */
    private static int nsnLength(PhoneNumber n) {
        int zeros = n.isItalianLeadingZero() && n.getNumberOfLeadingZeros() > 0 ? n.getNumberOfLeadingZeros() : 0;
        int len = zeros + Long.toString(n.getNationalNumber()).length();
        return Math.min(len, 31);
    }

    /** The codes in {@code regions} libphonenumber does not know (upper case expected). */
    public static List<String> unsupported(List<String> regions) {
        Set<String> known = UTIL.getSupportedRegions();
        return regions.stream().filter(r -> !known.contains(r.toUpperCase(Locale.ROOT)) || !r.equals(r.toUpperCase(Locale.ROOT))).toList();
    }

    public List<String> regions() {
        return regions;
    }

    @Override
    public String name() {
        return "phone";
    }

    @Override
    public void scan(String s, TextIndex index, Sink sink) {
        int[] starts = index.numberStarts();
        int count = index.numberStartCount();
        int next = 0;
        Candidate cand = null; // made at the first number start that may begin a phone: most scanned strings have none
        for (int k = 0; k < count; k++) {
            int i = starts[k];
            if (i < next) {
                continue;
            }
            char c = s.charAt(i);
            boolean ok = c == '+' ? Chars.startBoundary(s, i) && !(i > 0 && Chars.digit(s.charAt(i - 1)))
                    : c == '(' ? Chars.startBoundary(s, i)
                    : Chars.numberStart(s, i);
            if (!ok) {
                continue;
            }
            if (cand == null) {
                cand = new Candidate();
            }
            if (!cand.read(s, i)) {
                continue;
            }
            // whatever the verdict, no candidate starts inside this one: each character is read once
            next = cand.ends[cand.groups - 1];
            int end = validate(s, i, cand);
            if (end > 0) {
                sink.found(i, end);
                next = end;
            }
        }
    }

    /** The end of the longest valid prefix of the candidate (whole groups), or -1. */
    private int validate(String s, int start, Candidate cand) {
        if (uuidAt(s, start)) {
            return -1; // "00431200-0000-0000-b000-…" is an id whose leading groups are digits, not +43 1200 0000 0000
        }
        for (int g = cand.groups, tries = 0; g >= 1 && tries < MAX_TRIES; g--, tries++) {
            int end = cand.ends[g - 1];
            int digits = cand.digitsUpTo[g - 1];
            if (digits < MIN_DIGITS) {
                return -1;
            }
            if (!Chars.numberEnd(s, end) || (g < cand.groups && !Chars.endBoundary(s, end))) {
                continue;
            }
            if (g == 1 && end + 1 < s.length() && (s.charAt(end) == '-' || s.charAt(end) == '_') && Chars.wordChar(s.charAt(end + 1))) {
                return -1; // an identifier's part: "04378932-b215-4b5c-…" (a UUID)
            }
            if (g == 1 && !cand.paren && digits < MIN_UNGROUPED_DIGITS && s.charAt(start) != '+') {
                return -1;
            }
            if (!cand.consistent(s, start, g)) {
                continue;
            }
            if (valid(s, start, end, g > 1 || cand.paren, cand.strongShape(s, start, g), cand, g)) {
                return end;
            }
        }
        return -1;
    }

    private static final int[] UUID_GROUPS = {8, 4, 4, 4, 12};

    /** A UUID (8-4-4-4-12 hex digits) starts at {@code start}. */
    static boolean uuidAt(String s, int start) {
        int i = start;
        for (int g = 0; g < UUID_GROUPS.length; g++) {
            if (g > 0) {
                if (i >= s.length() || s.charAt(i) != '-') {
                    return false;
                }
                i++;
            }
            for (int k = 0; k < UUID_GROUPS[g]; k++, i++) {
                if (i >= s.length() || Character.digit(s.charAt(i), 16) < 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * @param strong the candidate has the printed shape of a phone (international groups after a
     *               '+', or NANP 3-3-4): then a number of a possible length for its plan is enough,
     *               as model answers are full of invented numbers in unassigned ranges that still
     *               read as someone's phone
     */
    private boolean valid(String s, int start, int end, boolean grouped, boolean strong, Candidate cand, int g) {
        StringBuilder d = new StringBuilder(MAX_DIGITS + 1);
        boolean plus = s.charAt(start) == '+';
        for (int i = start; i < end; i++) {
            char c = s.charAt(i);
            if (Chars.digit(c)) {
                d.append(c);
            } else if (plus && c == '(' && i + 2 < end && s.charAt(i + 1) == '0' && s.charAt(i + 2) == ')') {
                i += 2; // "+49 (0)30 …": the trunk prefix written after the country code is not dialled
            }
        }
        String digits = d.toString();
        if (plus || digits.startsWith("00")) {
            // "00" is the international prefix of most of the world ("0049 30 …")
            PhoneNumber n = international(plus ? digits : digits.substring(2));
            // the length checks before the library's per-region regular expressions: a strong shape
            // of a possible length needs no validation (isValidNumber tries every region of the code)
            return n != null && possible(n) && ((strong && plausibleNsn(n)) || UTIL.isValidNumber(n));
        }
        boolean trunk = digits.charAt(0) == '0';
        if ((!grouped && !trunk) || digits.length() > MAX_NATIONAL_DIGITS) {
            return false;
        }
        for (int k = 0; k < regions.size(); k++) {
            String r = regions.get(k);
            // dialled in region r: its trunk prefix, then the national significant number
            String nsn;
            if (trunkZero.contains(r)) {
                if (!trunk) {
                    continue;
                }
                nsn = digits.substring(1);
            } else {
                if (trunk) {
                    continue;
                }
                nsn = digits.length() == 11 && digits.charAt(0) == '1' && countryCodes[k] == 1 ? digits.substring(1) : digits;
            }
            PhoneNumber n = number(countryCodes[k], nsn);
            // the length checks first (no regex, and most digit groups fail them), the library's
            // regular expressions (validation, formatting) only when they cannot decide
            if (n != null && possible(n)
                    && ((strong && possibleFixedLineOrMobile(n) && plausibleNsn(n))
                    || UTIL.isValidNumberForRegion(n, r)
                    || printedAsThePlanPrints(n, cand.groupLengths(g)))) {
                return true;
            }
        }
        return false;
    }

    /** Grouped (at least "d-d-d") exactly as the plan prints the number, which is of a plausible possible length. */
    private static boolean printedAsThePlanPrints(PhoneNumber n, String groups) {
        return groups.length() >= 5 && plausibleNsn(n) && groups.equals(printedGroups(UTIL.format(n, PhoneNumberUtil.PhoneNumberFormat.NATIONAL)));
    }

    /**
     * The number for a country code and national significant number, built directly: the library's
     * parse() runs a dozen regular expressions per call, its validation needs only the digits.
     */
    static PhoneNumber number(int countryCode, String nsn) {
        if (nsn.isEmpty() || nsn.length() > MAX_NSN) {
            return null;
        }
        PhoneNumber n = new PhoneNumber().setCountryCode(countryCode);
        if (nsn.length() > 1 && nsn.charAt(0) == '0') {
            // a leading zero that is part of the number (Italy): kept as the library does
            n.setItalianLeadingZero(true);
            int z = 0;
            while (z < nsn.length() - 1 && nsn.charAt(z) == '0') {
                z++;
            }
            if (z > 1) {
                n.setNumberOfLeadingZeros(z);
            }
        }
        return n.setNationalNumber(Long.parseLong(nsn));
    }

    /** "+" digits: the country code is the one prefix of 1–3 digits that names a country (codes are prefix-free). */
    private static PhoneNumber international(String digits) {
        int cc = 0;
        for (int len = 1; len <= 3 && len < digits.length(); len++) {
            cc = cc * 10 + (digits.charAt(len - 1) - '0');
            if (CALLING_CODES.contains(cc)) {
                return number(cc, digits.substring(len));
            }
        }
        return null;
    }

    /** "2-2-2-2-2" for "07 00 32 63 04": the digit-group lengths of a printed number. */
    static String printedGroups(String printed) {
        StringBuilder sb = new StringBuilder();
        int run = 0;
        for (int i = 0; i <= printed.length(); i++) {
            if (i < printed.length() && Chars.digit(printed.charAt(i))) {
                run++;
            } else if (run > 0) {
                sb.append(sb.length() == 0 ? "" : "-").append(run);
                run = 0;
            }
        }
        return sb.toString();
    }

    /** A national number no plan could ever assign: NANP area or exchange codes start 2–9; no leading 0. */
    private static boolean plausibleNsn(PhoneNumber n) {
        String nsn = UTIL.getNationalSignificantNumber(n);
        if (nsn.isEmpty() || nsn.charAt(0) == '0') {
            return false;
        }
        return n.getCountryCode() != 1 || (nsn.length() == 10 && nsn.charAt(0) >= '2' && nsn.charAt(3) >= '2');
    }

    private static boolean sep(char c) {
        return c == ' ' || c == '-' || c == '.' || c == '/' || c == '\u00a0' || c == '\u202f' || c == '\u2009' || c == '\u2011';
    }

    /** A phone-shaped run: its groups' ends and digit counts, at most {@link #MAX_CANDIDATE} chars. */
    private static final class Candidate {
        final int[] ends = new int[MAX_CANDIDATE];
        final int[] digitsUpTo = new int[MAX_CANDIDATE];
        int groups;
        boolean paren;

        /**
         * The group lengths of the first {@code g} groups, "2-2-2-2-2": printed exactly as the plan
         * prints its numbers, a number of a possible length counts even in an unassigned range.
         */
        String groupLengths(int g) {
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < g; k++) {
                sb.append(k == 0 ? "" : "-").append(groupLength(k));
            }
            return sb.toString();
        }

        int groupLength(int g) {
            return digitsUpTo[g] - (g == 0 ? 0 : digitsUpTo[g - 1]);
        }

        /**
         * One separator throughout the first {@code g} groups (a space may also follow ")" or the
         * "+CC" group), and in national numbers no one-digit group: "pid 4242 3.14159" is no phone.
         */
        boolean consistent(String s, int start, int g) {
            boolean plus = s.charAt(start) == '+';
            char sep = 0;
            for (int k = 0; k + 1 < g; k++) {
                char c = s.charAt(ends[k]);
                if (c == ')' || c == '(' || Chars.digit(c)) {
                    continue;
                }
                if (s.charAt(ends[k] - 1) == ')' || (plus && k == 0) || (c == ' ' && s.charAt(ends[k] + 1) == '(')) {
                    continue;
                }
                if (sep == 0) {
                    sep = c;
                } else if (sep != c) {
                    return false;
                }
            }
            if (!plus) {
                for (int k = 0; k < g; k++) {
                    if (groupLength(k) == 1 && !(k == 0 && g > 1 && s.charAt(start) == '1')) {
                        return false;
                    }
                }
            }
            return true;
        }

        /** International groups after '+', or the NANP print shape [1 ](3) 3-4 / 3-3-4. */
        boolean strongShape(String s, int start, int g) {
            if (s.charAt(start) == '+') {
                return g >= 2;
            }
            int k = 0;
            if (g == 4 && groupLength(0) == 1 && s.charAt(start) == '1') {
                k = 1;
            }
            return g - k == 3 && groupLength(k) == 3 && groupLength(k + 1) == 3 && groupLength(k + 2) == 4
                    && digitsUpTo[k] > 0 && s.charAt(k == 0 ? start + (s.charAt(start) == '(' ? 1 : 0) : ends[0] + 1) >= '2';
        }

        boolean read(String s, int i) {
            int n = Math.min(s.length(), i + MAX_CANDIDATE);
            groups = 0;
            paren = false;
            int j = i;
            int digits = 0;
            if (s.charAt(j) == '+') {
                j++;
            }
            boolean openParen = false;
            while (j < n) {
                char c = s.charAt(j);
                if (Chars.digit(c)) {
                    while (j < n && Chars.digit(s.charAt(j))) {
                        digits++;
                        j++;
                    }
                    if (digits > MAX_DIGITS + 1) {
                        return false;
                    }
                    if (j < s.length() && j == n && Chars.digit(s.charAt(j))) {
                        return false; // a digit run running past the window is no phone
                    }
                    if (openParen) {
                        if (j < n && s.charAt(j) == ')') {
                            j++;
                            openParen = false;
                            paren = true;
                        } else {
                            return false;
                        }
                    }
                    ends[groups] = j;
                    digitsUpTo[groups] = digits;
                    groups++;
                    // a separator continues the number only when a digit or '(' follows it
                    if (j + 1 < n && sep(s.charAt(j)) && (Chars.digit(s.charAt(j + 1)) || s.charAt(j + 1) == '(')) {
                        j++;
                    } else if (s.charAt(j - 1) == ')' && j < n && Chars.digit(s.charAt(j))) {
                        // "+49 (0)30 …": digits right after the group
                    } else if (!(j < n && s.charAt(j) == '(')) {
                        break;
                    }
                } else if (c == '(' && !paren && !openParen && j + 1 < n && Chars.digit(s.charAt(j + 1))) {
                    openParen = true;
                    j++;
                } else {
                    break;
                }
            }
            return groups > 0 && !openParen;
        }
    }
}
