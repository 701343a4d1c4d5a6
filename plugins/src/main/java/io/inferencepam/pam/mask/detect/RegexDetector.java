package io.inferencepam.pam.mask.detect;

import com.google.re2j.Matcher;
import com.google.re2j.Pattern;

/** A custom detector from route conf: an RE2/J pattern, which matches in time linear in the text. */
public final class RegexDetector implements Detector {
    private final String name;
    private final Pattern pattern;

    /** @throws com.google.re2j.PatternSyntaxException for an invalid pattern (reported at PrepareConf) */
    public RegexDetector(String name, String regex, boolean caseInsensitive) {
        this.name = name;
        this.pattern = Pattern.compile(regex, caseInsensitive ? Pattern.CASE_INSENSITIVE : 0);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void scan(String s, Sink sink) {
        Matcher m = pattern.matcher(s);
        while (m.find()) {
            if (m.end() > m.start()) {
                sink.found(m.start(), m.end());
            }
        }
    }
}
