package io.inferencepam.pam.mask.detect;

import java.util.List;

/**
 * A custom detector from route conf: a list of literal terms (project code names, customer
 * names…) matched with one Aho–Corasick pass, never a regex alternation (which is exponentially
 * slower in java.util.regex and ~100× slower in RE2). Matches must stand as whole words unless
 * {@code wholeWords} is false.
 */
public final class DictionaryDetector implements Detector {
    private final String name;
    private final AhoCorasick automaton;
    private final boolean wholeWords;

    public DictionaryDetector(String name, List<String> terms, boolean caseInsensitive, boolean wholeWords) {
        this.name = name;
        this.automaton = new AhoCorasick(terms, caseInsensitive);
        this.wholeWords = wholeWords;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void scan(String s, Sink sink) {
        automaton.scan(s, (start, end) -> {
            if (!wholeWords || (Chars.startBoundary(s, start) && Chars.endBoundary(s, end))) {
                sink.found(start, end);
            }
        });
    }
}
