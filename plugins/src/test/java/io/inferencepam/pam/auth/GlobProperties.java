package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Glob agrees with an obviously-correct (but backtracking) regex reference on short names, and a
 * single {@code *} (or {@code ?}) matches only name characters ({@code A-Z a-z 0-9 . - _}), so it
 * never crosses a namespace separator ({@code / : @}) nor anything that might become one behind the
 * gateway ({@code %2F}, {@code \}, {@code ∕}, {@code ／}, {@code ：}); {@code **} does.
 */
class GlobProperties {
    /** What one star may match, as a regex class. */
    private static final String NAME_CLASS = "[A-Za-z0-9._\\-]";
    /** Separators and look-alikes the alphabets below draw from. */
    private static final String SEPARATORS = "/:@%\\\u2215\uFF0F\uFF1A\uFF20+ ";

    /**
     * Reference: each literal run quoted; {@code **} (any run of two or more stars) → {@code .*};
     * {@code *} → {@code [A-Za-z0-9._-]*}; {@code ?} → {@code [A-Za-z0-9._-]}; whole-string match. With
     * {@code acrossSegments}, every star run → {@code .*} and {@code ?} → {@code .} (the deny reading).
     */
    static boolean reference(String pattern, String text, boolean acrossSegments) {
        StringBuilder re = new StringBuilder();
        StringBuilder lit = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '*' || c == '?') {
                if (lit.length() > 0) {
                    re.append(Pattern.quote(lit.toString()));
                    lit.setLength(0);
                }
                if (c == '?') {
                    re.append(acrossSegments ? "." : NAME_CLASS);
                } else {
                    int j = i;
                    while (j < pattern.length() && pattern.charAt(j) == '*') {
                        j++;
                    }
                    re.append(acrossSegments || j - i >= 2 ? ".*" : NAME_CLASS + "*");
                    i = j - 1;
                }
            } else {
                lit.append(c);
            }
        }
        if (lit.length() > 0) {
            re.append(Pattern.quote(lit.toString()));
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL).matcher(text).matches();
    }

    @Provide
    Arbitrary<String> patterns() {
        // a small alphabet that includes the wildcards and the separators themselves
        return Arbitraries.strings().withChars("ab*?-." + SEPARATORS).ofMinLength(1).ofMaxLength(8);
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("ab*?-." + SEPARATORS).ofMinLength(0).ofMaxLength(10);
    }

    @Provide
    Arbitrary<String> segmentPatterns() {
        // no separator and no "**": a pattern that must stay inside one segment
        return Arbitraries.strings().withChars("ab*?-._").ofMinLength(1).ofMaxLength(6).filter(p -> !p.contains("**"));
    }

    @Provide
    Arbitrary<String> segmentNames() {
        return Arbitraries.strings().withChars("ab-._").ofMinLength(0).ofMaxLength(8);
    }

    @Provide
    Arbitrary<String> literals() {
        return Arbitraries.strings().withChars("ab-." + SEPARATORS).ofMinLength(1).ofMaxLength(8);
    }

    @Property(tries = 5000)
    void globMatchesLikeTheReference(@ForAll("patterns") String pattern, @ForAll("names") String name) {
        assertThat(new Glob(pattern).matches(name)).as("%s vs %s", pattern, name).isEqualTo(reference(pattern, name, false));
    }

    @Property(tries = 5000)
    void acrossSegmentsMatchesLikeTheOldGlob(@ForAll("patterns") String pattern, @ForAll("names") String name) {
        assertThat(new Glob(pattern).matchesAcrossSegments(name)).as("%s vs %s", pattern, name)
                .isEqualTo(reference(pattern, name, true));
    }

    @Property(tries = 3000)
    void aSingleStarNeverMatchesAcrossASeparator(@ForAll("segmentPatterns") String pattern, @ForAll("names") String name) {
        // a pattern without separators and without ** only ever matches a name of name characters
        if (new Glob(pattern).matches(name)) {
            assertThat(name).as("%s matched %s", pattern, name).matches(NAME_CLASS + "*");
        }
    }

    @Property(tries = 3000)
    void segmentsMatchSegmentBySegment(@ForAll("segmentPatterns") String p1, @ForAll("segmentPatterns") String p2,
                                       @ForAll("segmentNames") String n1, @ForAll("names") String n2, @ForAll("separator") char sep) {
        // p1<sep>p2 matches n1<sep>n2 exactly when each half matches its own segment
        boolean whole = new Glob(p1 + sep + p2).matches(n1 + sep + n2);
        assertThat(whole).as("%s%s%s vs %s%s%s", p1, sep, p2, n1, sep, n2)
                .isEqualTo(new Glob(p1).matches(n1) && new Glob(p2).matches(n2));
    }

    @Provide
    Arbitrary<Character> separator() {
        return Arbitraries.of('/', ':', '@', '%', '\\', '\u2215', '\uFF0F', '+');
    }

    @Property(tries = 3000)
    void doubleStarCrossesSeparators(@ForAll("patterns") String pattern, @ForAll("names") String name) {
        // turning every star run into ** gives exactly the old, separator-blind matching (? aside)
        Assume.that(pattern.indexOf('?') < 0);
        String doubled = pattern.replaceAll("\\*+", "**");
        assertThat(new Glob(doubled).matches(name)).as("%s vs %s", doubled, name).isEqualTo(reference(pattern, name, true));
    }

    @Property(tries = 2000)
    void literalPatternsMatchExactlyThemselves(@ForAll("literals") String literal, @ForAll("names") String name) {
        assertThat(new Glob(literal).matches(name)).isEqualTo(literal.equals(name));
        assertThat(new Glob(literal).matches(literal)).isTrue();
    }

    @Property(tries = 2000)
    void aPatternMatchesItselfWithWildcardsTakenLiterally(@ForAll("patterns") String pattern) {
        // a deny pattern always covers a model named exactly like the pattern
        assertThat(new Glob(pattern).matchesAcrossSegments(pattern)).isTrue();
    }

    @Property(tries = 300)
    void longDoubleStarPatternsMatchLikeTheReference(@ForAll("patterns") String a, @ForAll("patterns") String b,
                                                     @ForAll("names") String name) {
        // patterns of 64 characters and more take the array-based simulation instead of the bit set
        String pattern = a + "**" + "x".repeat(64) + b;
        String text = name + "x".repeat(64) + name;
        assertThat(new Glob(pattern).matches(text)).as("%s vs %s", pattern, text).isEqualTo(reference(pattern, text, false));
    }

    @Example
    void hostileNamesWithSeparatorsStayLinear() {
        // no backtracking: these complete in pattern-length steps per character
        assertThat(new Glob("**a**a**a**a**a**a**b").matches("a/".repeat(50_000))).isFalse();
        assertThat(new Glob("*a*a*a*a*a*a*b").matches("a:".repeat(50_000))).isFalse();
        assertThat(new Glob("**a" + "*a".repeat(40) + "**b").matches("a@".repeat(20_000))).isFalse();
    }

    @Example
    void starInTheNameDoesNotEscapeADenyPattern() {
        assertThat(new Glob("secret-*").matchesAcrossSegments("secret-*x")).isTrue();
        assertThat(new Glob("a*b").matchesAcrossSegments("a*xb")).isTrue();
        // the allow reading: a '*' in a name is no name character, so one star does not match it
        assertThat(new Glob("secret-*").matches("secret-*x")).isFalse();
        assertThat(new Glob("secret-**").matches("secret-*x")).isTrue();
    }

    @Example
    void namespacesRegistriesAndTagsAreNotCrossedByOneStar() {
        Glob llama = new Glob("llama-3-*");
        assertThat(llama.matches("llama-3-8b")).isTrue();
        assertThat(llama.matches("llama-3-x/gpt-4o")).isFalse();
        assertThat(llama.matches("llama-3-8b.evil.com/library/gpt-4o")).isFalse();
        assertThat(llama.matches("llama-3-8b:latest")).isFalse();
        assertThat(llama.matches("llama-3-8b@sha256:abc")).isFalse();
        assertThat(new Glob("llama3*").matches("llama3:8b")).isFalse();
        assertThat(new Glob("llama3:*").matches("llama3:8b")).isTrue();
        assertThat(new Glob("llama3**").matches("llama3:8b")).isTrue();
        assertThat(new Glob("meta-llama/*").matches("meta-llama/Llama-3.1-8B-Instruct")).isTrue();
        assertThat(new Glob("meta-llama/*").matches("meta-llama/x/y")).isFalse();
        assertThat(new Glob("*").matches("meta-llama/Llama-3.1-8B-Instruct")).isFalse();
        assertThat(new Glob("**").matches("meta-llama/Llama-3.1-8B-Instruct")).isTrue();
        assertThat(new Glob("**").matches("")).isTrue();
        assertThat(new Glob("*/*").matches("org/name")).isTrue();
        assertThat(new Glob("llama?3").matches("llama/3")).isFalse();
        // the deny reading keeps the old, broader meaning
        assertThat(llama.matchesAcrossSegments("llama-3-x/gpt-4o")).isTrue();
    }

    @Example
    void lookAlikesAndEncodingsOfSeparatorsEndASegmentToo() {
        // a JSON body may name "llama-3-x\u2215gpt-4o"; a proxy, a URL builder or a best-fit code-page
        // conversion behind the gateway may turn any of these into '/', ':' or '@'
        Glob llama = new Glob("llama-3-*");
        for (String name : java.util.List.of("llama-3-x\u2215gpt-4o", "llama-3-x\uFF0Fgpt-4o", "llama-3-x\u2044gpt-4o",
                "llama-3-x\u29F8gpt-4o", "llama-3-x%2Fgpt-4o", "llama-3-x%2fgpt-4o", "llama-3-x\\gpt-4o",
                "llama-3-x\uFF1Alatest", "llama-3-x\uFF20sha256", "llama-3-x\uFE55latest", "llama-3-x?y", "llama-3-x#y",
                "llama-3-x;y", "llama-3-x y", "llama-3-x\u0000", "llama-3-\u212Ax", "llama-3-\u0338x")) {
            assertThat(llama.matches(name)).as(name).isFalse();
            assertThat(new Glob("**").matches(name)).as(name).isTrue();
            assertThat(llama.matchesAcrossSegments(name)).as("deny reading: %s", name).isTrue();
        }
        for (String sep : java.util.List.of("\u2215", "\uFF0F", "%", "\\", "\uFF1A", " ")) {
            assertThat(new Glob("org?name").matches("org" + sep + "name")).as(sep).isFalse();
        }
        assertThat(new Glob("llama-3-**").matches("llama-3-x\u2215gpt-4o")).isTrue();
        // a separator written literally in the pattern matches itself
        assertThat(new Glob("team+*").matches("team+x")).isTrue();
        assertThat(new Glob("org%2F*").matches("org%2Fname")).isTrue();
        assertThat(new Glob("llama-3-*").matches("llama-3-8B_instruct.v2")).isTrue();
    }

    @Example
    void emptySegmentsTrailingSeparatorsAndLongStarRuns() {
        assertThat(new Glob("*/*").matches("a//b")).isFalse();
        assertThat(new Glob("*/*").matches("/b")).isTrue(); // an empty org: the model server refuses it, never another model
        assertThat(new Glob("llama-3-*").matches("llama-3-x/")).isFalse();
        assertThat(new Glob("llama-3-*").matches("/llama-3-x")).isFalse();
        assertThat(new Glob("llama?3").matches("llama:3")).isFalse();
        assertThat(new Glob("***").matches("a/b:c@d")).isTrue();
        assertThat(new Glob("a***b").matches("a/x/b")).isTrue();
        assertThat(new Glob("a*?*b").matches("a/b")).isFalse();
    }

    @Example
    void hostileNamesWithLookAlikesStayLinear() {
        assertThat(new Glob("*a*a*a*a*a*a*b").matches("a\u2215".repeat(50_000))).isFalse();
        assertThat(new Glob("**a**a**a**a**a**a**b").matches("a%".repeat(50_000))).isFalse();
    }

    @Provide
    Arbitrary<String> ollamaPatterns() {
        return Arbitraries.strings().withChars("ab*?:/").ofMinLength(1).ofMaxLength(8);
    }

    @Provide
    Arbitrary<String> ollamaNames() {
        // canonical Ollama names: [host/]namespace/]model:tag, parts drawn from a tiny alphabet
        Arbitrary<String> part = Arbitraries.strings().withChars("ab").ofMinLength(1).ofMaxLength(3);
        return net.jqwik.api.Combinators.combine(part, part, part, part, Arbitraries.integers().between(1, 3))
                .as((h, ns, m, tag, parts) -> (parts == 3 ? h + ":5000/" : "") + (parts >= 2 ? ns + "/" : "") + m + ":" + tag);
    }

    @Property(tries = 5000)
    void anUpgradeNeverAllowsWhatTheOldReadingRefused(@ForAll("patterns") String pattern, @ForAll("names") String name) {
        // before this release every pattern was read separator-blind; an allow may only have narrowed
        if (new Glob(pattern).matches(name)) {
            assertThat(new Glob(pattern).matchesAcrossSegments(name)).as("%s vs %s", pattern, name).isTrue();
        }
    }

    @Property(tries = 5000)
    void onOllamaRoutesToo(@ForAll("ollamaPatterns") String pattern, @ForAll("ollamaNames") String name) {
        // the old allow: the canonical pattern read separator-blind; the new: the same pattern with * within a segment.
        // Deny patterns keep canonicalPattern and the separator-blind reading: unchanged by construction.
        String canonical;
        try {
            canonical = OllamaNames.canonicalPattern(pattern);
        } catch (IllegalArgumentException refusedAtConfTime) {
            return;
        }
        if (new Glob(canonical).matches(name)) {
            assertThat(new Glob(canonical).matchesAcrossSegments(name)).as("%s (%s) vs %s", pattern, canonical, name).isTrue();
        }
    }
}
