package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Glob agrees with an obviously-correct (but backtracking) regex reference on short names. */
class GlobProperties {

    /** Reference: each literal run quoted, {@code *} → {@code .*}, {@code ?} → {@code .}, whole-string match. */
    static boolean reference(String pattern, String text) {
        StringBuilder re = new StringBuilder();
        StringBuilder lit = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            if (c == '*' || c == '?') {
                if (lit.length() > 0) {
                    re.append(Pattern.quote(lit.toString()));
                    lit.setLength(0);
                }
                re.append(c == '*' ? ".*" : ".");
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
        // a small alphabet that includes the wildcards themselves, so names containing '*' and '?' are common
        return Arbitraries.strings().withChars("ab*?-").ofMinLength(1).ofMaxLength(7);
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("ab*?-").ofMinLength(0).ofMaxLength(9);
    }

    @Property(tries = 5000)
    void globMatchesLikeTheReference(@ForAll("patterns") String pattern, @ForAll("names") String name) {
        assertThat(new Glob(pattern).matches(name)).as("%s vs %s", pattern, name).isEqualTo(reference(pattern, name));
    }

    @Property(tries = 2000)
    void aPatternMatchesItselfWithWildcardsTakenLiterally(@ForAll("patterns") String pattern) {
        // a deny pattern always covers a model named exactly like the pattern
        assertThat(new Glob(pattern).matches(pattern)).isTrue();
    }

    @Example
    void starInTheNameDoesNotEscapeADenyPattern() {
        assertThat(new Glob("secret-*").matches("secret-*x")).isTrue();
        assertThat(new Glob("a*b").matches("a*xb")).isTrue();
    }
}
