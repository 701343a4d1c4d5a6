package io.inferencepam.pam.guard.prompt;

import java.nio.CharBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ahocorasick.trie.PayloadEmit;
import org.ahocorasick.trie.PayloadTrie;

/**
 * Every keyword list of a conf in (at most) two Aho–Corasick automata — one over case-folded text for
 * the lists that ignore case, one over the normalized text for the others — so a text is read once
 * per automaton whatever the number of lists and keywords (robert-bor/aho-corasick).
 *
 * <p>The library keeps one keyword per automaton state and drops a second payload for the same
 * keyword, so each distinct keyword is added once with the indexes of every list that has it.
 * Whole-word matching is checked here (letters and digits of any script are word characters) rather
 * than by the library, whose notion of a word ignores digits. A {@link GramFilter} in front of each
 * automaton hands it only the stretches of text where a keyword may start.
 */
final class KeywordMatcher {

    /** One keyword list: its index among all prompt rules, and how it matches. */
    record KeywordList(int ruleIndex, boolean ignoreCase, boolean wholeWord, List<String> keywords) {
    }

    /** An automaton with its prefilter. */
    private record Automaton(PayloadTrie<int[]> trie, GramFilter filter) {
    }

    private final Automaton foldedTrie;
    private final Automaton exactTrie;
    private final boolean[] wholeWord;
    private final int[] listRules;

    /**
     * @param ruleCount the number of prompt rules (indexes of the lists are below it)
     * @throws IllegalArgumentException naming the list of a keyword that normalizes to nothing
     */
    KeywordMatcher(List<KeywordList> lists, int ruleCount) {
        wholeWord = new boolean[ruleCount];
        Map<String, List<Integer>> folded = new LinkedHashMap<>();
        Map<String, List<Integer>> exact = new LinkedHashMap<>();
        for (KeywordList l : lists) {
            wholeWord[l.ruleIndex()] = l.wholeWord();
            for (String k : l.keywords()) {
                String n = TextForms.normalized(k);
                String key = l.ignoreCase() ? TextForms.folded(n) : n;
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("a keyword has no visible characters");
                }
                List<Integer> owners = (l.ignoreCase() ? folded : exact).computeIfAbsent(key, x -> new ArrayList<>(1));
                if (!owners.contains(l.ruleIndex())) {
                    owners.add(l.ruleIndex());
                }
            }
        }
        listRules = lists.stream().mapToInt(KeywordList::ruleIndex).toArray();
        foldedTrie = build(folded);
        exactTrie = build(exact);
    }

    private static Automaton build(Map<String, List<Integer>> keywords) {
        if (keywords.isEmpty()) {
            return null;
        }
        // stopOnHit: the scan stops as soon as the handler says every list has matched
        PayloadTrie.PayloadTrieBuilder<int[]> b = PayloadTrie.<int[]>builder().stopOnHit();
        keywords.forEach((k, owners) -> b.addKeyword(k, owners.stream().mapToInt(Integer::intValue).toArray()));
        return new Automaton(b.build(), new GramFilter(keywords.keySet()));
    }

    /**
     * Sets in {@code matched} the rule index of every list with a keyword in the text.
     *
     * @param normalized the text as {@link TextForms#normalized} made it
     * @param ascii      whether it is ASCII (then the case-folded form is never copied out whole)
     */
    void scan(String normalized, boolean ascii, BitSet matched) {
        if (foldedTrie != null) {
            if (ascii) {
                run(foldedTrie, normalized, true, true, matched);
            } else {
                run(foldedTrie, TextForms.folded(normalized), false, false, matched);
            }
        }
        if (exactTrie != null) {
            run(exactTrie, normalized, ascii, false, matched);
        }
    }

    private void run(Automaton a, String text, boolean ascii, boolean lowerAscii, BitSet matched) {
        a.filter().candidates(text, ascii, lowerAscii, (from, to) -> {
            CharSequence window = lowerAscii ? new AsciiLower(text, from, to)
                    : from == 0 && to == text.length() ? text : CharBuffer.wrap(text, from, to);
            a.trie().parseText(window, (PayloadEmit<int[]> emit) -> {
                boolean whole = false; // computed once per emit, only if a list asks for it
                boolean wholeKnown = false;
                for (int rule : emit.getPayload()) {
                    if (wholeWord[rule]) {
                        if (!wholeKnown) {
                            // case does not change whether a character is a letter or digit
                            whole = isWholeWord(text, from + emit.getStart(), from + emit.getEnd());
                            wholeKnown = true;
                        }
                        if (!whole) {
                            continue;
                        }
                    }
                    matched.set(rule);
                }
                return allMatched(matched); // otherwise read on: other lists may match later in the text
            });
            return allMatched(matched);
        });
    }

    /** A window of an ASCII text, lower-cased as it is read (the folded form of ASCII). */
    private record AsciiLower(String text, int from, int to) implements CharSequence {
        @Override
        public int length() {
            return to - from;
        }

        @Override
        public char charAt(int index) {
            char c = text.charAt(from + index);
            return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new AsciiLower(text, from + start, from + end);
        }

        @Override
        public String toString() {
            return TextForms.folded(text.substring(from, to));
        }
    }

    private boolean allMatched(BitSet matched) {
        for (int r : listRules) {
            if (!matched.get(r)) {
                return false;
            }
        }
        return true;
    }

    /** {@code [start, end]} (inclusive, the library's convention) is not inside a longer word. */
    static boolean isWholeWord(String text, int start, int end) {
        if (start > 0 && Character.isLetterOrDigit(text.codePointBefore(start))) {
            return false;
        }
        return end + 1 >= text.length() || !Character.isLetterOrDigit(text.codePointAt(end + 1));
    }
}
