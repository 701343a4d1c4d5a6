package io.inferencepam.pam.guard.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class PromptRulesProperties {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A small alphabet, so keywords overlap and share prefixes and suffixes; with case, a word boundary and tricky letters. */
    static final String ALPHABET = "abAB .é\u017F\u212A1k\u200Bs";

    record ListSpec(List<String> keywords, boolean ignoreCase, boolean wholeWord) {
    }

    @Provide
    Arbitrary<List<ListSpec>> lists() {
        Arbitrary<String> keyword = Arbitraries.strings().withChars(ALPHABET).ofMinLength(1).ofMaxLength(4)
                .filter(k -> !TextForms.normalized(k).isEmpty());
        Arbitrary<ListSpec> list = Combinators.combine(keyword.list().ofMinSize(1).ofMaxSize(6), Arbitraries.of(true, false),
                Arbitraries.of(true, false)).as(ListSpec::new);
        return list.list().ofMinSize(1).ofMaxSize(4);
    }

    @Provide
    Arbitrary<String> texts() {
        return Arbitraries.strings().withChars(ALPHABET).ofMaxLength(40);
    }

    /** The naive reference: every start position of every keyword, in the same normalized forms. */
    static Set<String> reference(List<ListSpec> lists, String text) {
        String normalized = TextForms.normalized(text);
        String folded = TextForms.folded(normalized);
        Set<String> out = new TreeSet<>();
        for (int i = 0; i < lists.size(); i++) {
            ListSpec l = lists.get(i);
            String t = l.ignoreCase() ? folded : normalized;
            for (String k : l.keywords()) {
                String n = TextForms.normalized(k);
                String kw = l.ignoreCase() ? TextForms.folded(n) : n;
                for (int at = t.indexOf(kw); at >= 0; at = t.indexOf(kw, at + 1)) {
                    int end = at + kw.length();
                    boolean before = at > 0 && Character.isLetterOrDigit(t.codePointBefore(at));
                    boolean after = end < t.length() && Character.isLetterOrDigit(t.codePointAt(end));
                    if (!l.wholeWord() || (!before && !after)) {
                        out.add("r" + i);
                    }
                }
            }
        }
        return out;
    }

    static PromptRules rules(List<ListSpec> lists) {
        ObjectNode conf = JSON.createObjectNode();
        ArrayNode rules = conf.putArray("rules");
        for (int i = 0; i < lists.size(); i++) {
            ListSpec l = lists.get(i);
            ObjectNode r = rules.addObject().put("id", "r" + i).put("ignore_case", l.ignoreCase()).put("whole_word", l.wholeWord());
            l.keywords().forEach(r.putArray("keywords")::add);
        }
        return PromptRules.fromConf(conf);
    }

    @Property(tries = 3000)
    void keywordAutomatonAgreesWithANaiveSearch(@ForAll("lists") List<ListSpec> lists, @ForAll("texts") String text) {
        PromptRules rules = rules(lists);
        ObjectNode body = JSON.createObjectNode().put("inputs", text);
        Set<String> found = rules.scan(BodyShape.TGI_GENERATE, body).stream().map(PromptMatch::ruleId).collect(Collectors.toCollection(TreeSet::new));
        assertThat(found).as("text %s", text).isEqualTo(reference(lists, text));
    }

    /** Longer keywords over three letters: the prefilter's windows overlap, merge and end at the text's end. */
    @Provide
    Arbitrary<List<ListSpec>> longLists() {
        Arbitrary<String> keyword = Arbitraries.strings().withChars("abA ").ofMinLength(4).ofMaxLength(9);
        Arbitrary<ListSpec> list = Combinators.combine(keyword.list().ofMinSize(1).ofMaxSize(30), Arbitraries.of(true, false),
                Arbitraries.of(true, false)).as(ListSpec::new);
        return list.list().ofMinSize(1).ofMaxSize(3);
    }

    @Provide
    Arbitrary<String> longTexts() {
        return Arbitraries.strings().withChars("abAB ").ofMaxLength(300);
    }

    @Property(tries = 2000)
    void prefilteredAutomatonAgreesWithANaiveSearchOnLongKeywords(@ForAll("longLists") List<ListSpec> lists,
            @ForAll("longTexts") String text) {
        keywordAutomatonAgreesWithANaiveSearch(lists, text);
    }

    /**
     * The prefilter reads each character's low byte: characters whose low byte is an ASCII letter or
     * a space ({@code š} U+0161 = 0x61 'a', {@code Ł} U+0141 = 'A', {@code Ţ} U+0162 = 'b', {@code Ġ}
     * U+0120 = ' ') only add candidates, never hide a keyword, whether the text is ASCII (read as
     * its bytes) or not (read as low bytes).
     */
    @Provide
    Arbitrary<String> lowByteTexts() {
        return Arbitraries.strings().withChars("abAB \u0161\u0141\u0162\u0120").ofMaxLength(120);
    }

    @Provide
    Arbitrary<List<ListSpec>> lowByteLists() {
        Arbitrary<String> keyword = Arbitraries.strings().withChars("abAB \u0161\u0141").ofMinLength(1).ofMaxLength(7)
                .filter(k -> !k.isBlank());
        Arbitrary<ListSpec> list = Combinators.combine(keyword.list().ofMinSize(1).ofMaxSize(12), Arbitraries.of(true, false),
                Arbitraries.of(true, false)).as(ListSpec::new);
        return list.list().ofMinSize(1).ofMaxSize(3);
    }

    @Property(tries = 2000)
    void charactersSharingALowByteWithAsciiNeitherHideNorInventKeywords(@ForAll("lowByteLists") List<ListSpec> lists,
            @ForAll("lowByteTexts") String text) {
        keywordAutomatonAgreesWithANaiveSearch(lists, text);
    }

    /**
     * The whole way from the body's bytes: a message's text written with JSON escapes (any character
     * as {@code \\uXXXX}), split over several messages and content parts, is matched as its decoded
     * text; a keyword split across two messages is not one match (each text is read on its own).
     */
    @Property(tries = 500)
    void escapedAndSplitTextIsMatchedAsDecoded(@ForAll("lists") List<ListSpec> lists, @ForAll("texts") String a,
            @ForAll("texts") String b, @ForAll @IntRange(min = 0, max = 3) int escapeEvery) throws Exception {
        PromptRules rules = rules(lists);
        String json = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":" + escaped(a, escapeEvery)
                + "},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":" + escaped(b, escapeEvery) + "}]}]}";
        ObjectNode body = (ObjectNode) JSON.readTree(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Set<String> found = rules.scan(BodyShape.OPENAI_CHAT, body).stream().map(PromptMatch::ruleId)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> expected = new TreeSet<>(reference(lists, a));
        expected.addAll(reference(lists, b));
        assertThat(found).as("%s", json).isEqualTo(expected);
    }

    /** A JSON string literal of {@code s} with every {@code every}-th character (0: none) as a \\u escape. */
    private static String escaped(String s, int every) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((every > 0 && i % every == 0) || c < 0x20 || c == '"' || c == '\\') {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    @Property(tries = 200)
    void aKeywordIsFoundWhateverTheInvisibleCharactersAndCaseAroundIt(@ForAll("plainKeywords") String keyword,
            @ForAll @IntRange(min = 0, max = 3) int trick, @ForAll("texts") String prefix) {
        PromptRules rules = rules(List.of(new ListSpec(List.of(keyword), true, false)));
        String disguised = switch (trick) {
            case 0 -> keyword.toUpperCase(java.util.Locale.ROOT);
            case 1 -> String.join("\u200B", keyword.split(""));
            case 2 -> keyword.chars().mapToObj(c -> c >= 'a' && c <= 'z' ? String.valueOf((char) (c - 'a' + 0xFF41)) : String.valueOf((char) c))
                    .collect(Collectors.joining());
            default -> "\uFEFF" + keyword.charAt(0) + "\u00AD" + keyword.substring(1);
        };
        ObjectNode body = JSON.createObjectNode();
        body.putArray("messages").addObject().put("role", "user").put("content", prefix + " " + disguised + " end");
        assertThat(rules.scan(BodyShape.OPENAI_CHAT, body)).extracting(PromptMatch::ruleId).contains("r0");
    }

    @Provide
    Arbitrary<String> plainKeywords() {
        return Arbitraries.strings().withCharRange('a', 'z').ofMinLength(2).ofMaxLength(12);
    }

    /**
     * Patterns that take exponential time in a backtracking engine (java.util.regex needs minutes on
     * 30 characters for some of them) run on RE2/J over texts of up to 200 000 characters; the
     * generous bound only catches a regression to a backtracking engine, it measures nothing.
     */
    @Property(tries = 40)
    void hostileRegexesRunInLinearTime(@ForAll("hostilePatterns") String pattern, @ForAll @IntRange(min = 1_000, max = 200_000) int n) {
        PromptRules rules = PromptRules.fromConf(JSON.createObjectNode().set("rules",
                JSON.createArrayNode().add(JSON.createObjectNode().put("id", "h").put("regex", pattern))));
        String text = "a".repeat(n) + "!";
        List<PromptMatch> ms = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> ms.addAll(rules.scan(BodyShape.TGI_GENERATE, JSON.createObjectNode().put("inputs", text))));
        assertThat(ms).isEmpty();
    }

    @Provide
    Arbitrary<String> hostilePatterns() {
        return Arbitraries.of("(a+)+$", "(a|aa)+$", "(a*)*b", "(a|a)*c", "^(a+)+b", "(.*a){20}x", "(a?){30}a{30}b", "((a+)*)+z",
                "(?:a|a?)+\\d", "(\\w+\\s?)+$x");
    }
}
