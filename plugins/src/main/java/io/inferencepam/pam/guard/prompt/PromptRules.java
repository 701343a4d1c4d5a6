package io.inferencepam.pam.guard.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.prompt.PromptMatch.Action;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * pam-guard's prompt rules: regular expressions (RE2/J: linear time in the text, whatever the
 * pattern) and keyword lists (one Aho–Corasick automaton for all lists) over the text the model will
 * see ({@link ShapeTexts}), normalized first ({@link TextForms}). A rule denies the call or flags it
 * (a risk signal recorded for pam-approval). Places the rules cannot read — token-id prompts, values
 * of an unexpected type — are reported under the rule id {@value #UNSCANNABLE_RULE_ID} (deny by default).
 * Immutable; built once per conf.
 */
public final class PromptRules {

    /**
     * Most keyword characters a conf may hold over all lists: the automaton takes about 180 bytes of
     * heap per character (10,000 terms of 9.5 characters: 17 MB, built in about 1.5 s), so this bounds
     * one conf to about 45 MB.
     */
    public static final int MAX_KEYWORD_CHARS = 250_000;

    /** The rule id of a match that says "this part of the body cannot be read by the rules". */
    public static final String UNSCANNABLE_RULE_ID = "unscannable_input";

    /** The JSON Schema of the {@code prompt_rules} attribute of the pam-guard conf (a fragment, no {@code $schema}). */
    public static final String SCHEMA = """
            {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "rules": {"type": "array", "maxItems": 256, "items": {
                  "type": "object", "additionalProperties": false, "required": ["id"],
                  "oneOf": [{"required": ["regex"]}, {"required": ["keywords"]}],
                  "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "action": {"enum": ["deny", "flag"]},
                    "regex": {"type": "string", "minLength": 1, "maxLength": 4096},
                    "keywords": {"type": "array", "minItems": 1, "maxItems": 50000,
                      "items": {"type": "string", "minLength": 1, "maxLength": 256}},
                    "ignore_case": {"type": "boolean"},
                    "whole_word": {"type": "boolean"}
                  }}},
                "unscannable": {"enum": ["deny", "flag", "allow"]}
              }
            }
            """;

    private static final JsonSchema COMPILED;

    static {
        try {
            COMPILED = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(new ObjectMapper().readTree(SCHEMA));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A rule's identity and action, by index. */
    private record Rule(String id, Action action) {
    }

    private record RegexRule(int index, Pattern pattern) {
    }

    private static final PromptRules NONE = new PromptRules(List.of(), List.of(), List.of(), Action.DENY);

    private final List<Rule> rules;
    private final List<RegexRule> regexes;
    private final KeywordMatcher keywords;
    private final Action unscannable;

    private PromptRules(List<Rule> rules, List<RegexRule> regexes, List<KeywordMatcher.KeywordList> lists, Action unscannable) {
        this.rules = List.copyOf(rules);
        this.regexes = List.copyOf(regexes);
        this.keywords = lists.isEmpty() ? null : new KeywordMatcher(lists, rules.size());
        this.unscannable = unscannable;
    }

    /**
     * Parses the {@code prompt_rules} conf ({@code null} or missing: no rules).
     *
     * @throws IllegalArgumentException naming the JSON path of the first problem
     */
    public static PromptRules fromConf(JsonNode conf) {
        if (conf == null || conf.isMissingNode() || conf.isNull()) {
            return NONE;
        }
        int n = 0;
        for (JsonNode r : conf.path("rules")) {
            if (r.isObject() && r.has("regex") == r.has("keywords")) {
                // clearer than the schema's "must be valid to one and only one schema"
                throw new IllegalArgumentException("prompt_rules.rules[" + n + "]: give exactly one of \"regex\" or \"keywords\"");
            }
            n++;
        }
        Set<ValidationMessage> errors = COMPILED.validate(conf);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("prompt_rules: " + errors.iterator().next().getMessage());
        }
        List<Rule> rules = new ArrayList<>();
        List<RegexRule> regexes = new ArrayList<>();
        List<KeywordMatcher.KeywordList> lists = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        ids.add(UNSCANNABLE_RULE_ID);
        long keywordChars = 0;
        for (JsonNode r : conf.path("rules")) {
            for (JsonNode k : r.path("keywords")) {
                keywordChars += k.asText().length();
            }
        }
        if (keywordChars > MAX_KEYWORD_CHARS) {
            throw new IllegalArgumentException("prompt_rules: the keyword lists hold " + keywordChars + " characters; at most "
                    + MAX_KEYWORD_CHARS + " (about 180 bytes of memory each)");
        }
        int i = 0;
        for (JsonNode r : conf.path("rules")) {
            String at = "prompt_rules.rules[" + i + "]";
            String id = r.get("id").asText();
            if (!ids.add(id)) {
                throw new IllegalArgumentException(at + ".id: duplicate or reserved rule id \"" + id + "\"");
            }
            boolean ignoreCase = r.path("ignore_case").asBoolean(true);
            rules.add(new Rule(id, "flag".equals(r.path("action").asText("deny")) ? Action.FLAG : Action.DENY));
            if (r.has("regex")) {
                if (r.has("whole_word")) {
                    throw new IllegalArgumentException(at + ".whole_word: applies to keyword lists only (use \\b in the regex)");
                }
                regexes.add(new RegexRule(i, compile(at, r.get("regex").asText(), ignoreCase)));
            } else {
                List<String> words = new ArrayList<>();
                r.get("keywords").forEach(k -> words.add(k.asText()));
                lists.add(new KeywordMatcher.KeywordList(i, ignoreCase, r.path("whole_word").asBoolean(false), words));
            }
            i++;
        }
        try {
            return new PromptRules(rules, regexes, lists, switch (conf.path("unscannable").asText("deny")) {
                case "flag" -> Action.FLAG;
                case "allow" -> null;
                default -> Action.DENY;
            });
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("prompt_rules: " + e.getMessage(), e);
        }
    }

    private static Pattern compile(String at, String regex, boolean ignoreCase) {
        Pattern p;
        try {
            p = Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
        } catch (PatternSyntaxException e) {
            // RE2 syntax: no backreferences, no lookaround (they cannot run in linear time)
            throw new IllegalArgumentException(at + ".regex: not a valid RE2 expression: " + e.getDescription(), e);
        }
        if (p.matcher("").find()) {
            throw new IllegalArgumentException(at + ".regex: matches the empty text, so it would match every request");
        }
        return p;
    }

    /** Whether there is nothing to scan for (the plugin can skip parsing for prompts). */
    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /** The top-level members {@link #scan} reads in a body of {@code shape}, besides keys that fold to them. */
    public Set<String> reads(BodyShape shape) {
        return rules.isEmpty() ? Set.of() : ShapeTexts.topNames(shape);
    }

    /**
     * The rules that match the text of {@code body}, each once per place, in body order, followed by
     * nothing else: no matched text, no offsets.
     */
    public List<PromptMatch> scan(BodyShape shape, ObjectNode body) {
        if (rules.isEmpty()) {
            return List.of();
        }
        Scan scan = new Scan();
        ShapeTexts.visit(shape, body, scan);
        return scan.matches.isEmpty() ? List.of() : List.copyOf(scan.matches);
    }

    /** One scan's state: the matches so far and a reusable set of matched rule indexes. */
    private final class Scan implements ShapeTexts.Sink {
        final Set<PromptMatch> matches = new LinkedHashSet<>();
        final BitSet matched = new BitSet(rules.size());

        @Override
        public void text(Where where, String text) {
            boolean ascii = TextForms.isAscii(text);
            String normalized = ascii ? text : TextForms.normalizedNonAscii(text);
            for (RegexRule r : regexes) {
                if (r.pattern().matcher(normalized).find()) {
                    matched.set(r.index());
                }
            }
            if (keywords != null) {
                keywords.scan(normalized, ascii, matched);
            }
            if (!matched.isEmpty()) {
                String place = where.toString();
                for (int i = matched.nextSetBit(0); i >= 0; i = matched.nextSetBit(i + 1)) {
                    Rule r = rules.get(i);
                    matches.add(new PromptMatch(r.id(), r.action(), place));
                }
                matched.clear();
            }
        }

        @Override
        public void opaque(Where where) {
            if (unscannable != null) {
                matches.add(new PromptMatch(UNSCANNABLE_RULE_ID, unscannable, where.toString()));
            }
        }
    }
}
