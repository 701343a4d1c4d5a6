package io.inferencepam.pam.approval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.inferencepam.pam.core.FoldedNames;
import io.inferencepam.pam.core.KeyFold;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The numeric request parameters a hold rule compares with its thresholds ({@code max_tokens},
 * {@code n}, {@code options.num_predict}, …), read from a JSON body in one streaming pass that
 * skips everything else. Read conservatively, because a missed value lets a risky call through
 * without a human:
 * <ul>
 *   <li>names as a case-insensitive decoder reads them ({@link FoldedNames}, the relation pam-guard
 *       uses): Go's {@code encoding/json} (Ollama) takes {@code "MAX_TOKENS"} or {@code "Options"} for
 *       {@code max_tokens} and {@code options}; every spelling and every duplicate counts, with the
 *       largest value (whichever copy the model server keeps);</li>
 *   <li>{@code true} counts as 1; a string as the number pydantic's lax mode (vLLM) reads in it:
 *       surrounding whitespace, a sign, {@code _} between digits, a fraction, an exponent;</li>
 *   <li>a value that is present but not a number read so (another string, an array, an object) is
 *       above every threshold: the server refuses it or reads it some way we do not, and a human
 *       sees it either way;</li>
 *   <li>an output-token limit ({@link #isTokenLimit}) of zero or less is above every threshold: on
 *       Ollama {@code num_predict} −1 is unlimited and −2 fills the context; elsewhere it is refused;</li>
 *   <li>the output-token limits are one family: a wanted limit reads every member at its level, and
 *       {@link #above} of a limit compares the largest of them (vLLM reads {@code max_completion_tokens}
 *       before {@code max_tokens}, so a rule on one must see the other).</li>
 * </ul>
 * A body that is not a JSON object makes {@link #unreadable()} true, and rules treat that as "above".
 */
final class BodyParams {
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build();
    private static final BodyParams UNREADABLE = new BodyParams(Map.of(), Map.of(), Set.of(), true, true);
    private static final BodyParams NONE = new BodyParams(Map.of(), Map.of(), Set.of(), false, false);
    /** What remains of a numeric string once whitespace and underscores are gone: ASCII digits only. */
    private static final Pattern DECIMAL = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");
    /**
     * The output-token limits of the APIs in the catalog (OpenAI, vLLM, SGLang: {@code max_tokens},
     * {@code max_completion_tokens}; the Responses API, Gemini: {@code max_output_tokens}; TGI:
     * {@code max_new_tokens}; Ollama: {@code num_predict}; Anthropic's legacy completions:
     * {@code max_tokens_to_sample}), matched folded. A call that does not give one generates up to
     * the server's default: the rest of the context, or without limit.
     */
    private static final List<String> TOKEN_LIMIT_NAMES = List.of("max_tokens", "max_completion_tokens",
            "max_output_tokens", "max_new_tokens", "num_predict", "max_tokens_to_sample");
    private static final FoldedNames TOKEN_LIMITS = FoldedNames.of(TOKEN_LIMIT_NAMES);

    /** Per folded path: the largest value in any spelling. */
    private final Map<String, Double> values;
    /** Per level (folded container, "" at the top): the largest value of any output-token limit there. */
    private final Map<String, Double> limits;
    /** Folded paths given with a value other than null. */
    private final Set<String> present;
    private final boolean unreadable;
    private final boolean object;

    private BodyParams(Map<String, Double> values, Map<String, Double> limits, Set<String> present, boolean unreadable,
                       boolean object) {
        this.values = values;
        this.limits = limits;
        this.present = present;
        this.unreadable = unreadable;
        this.object = object;
    }

    /**
     * @param wanted dotted paths of at most two levels ({@code max_tokens}, {@code options.num_predict})
     */
    static BodyParams read(byte[] body, Set<String> wanted) {
        if (body.length == 0) {
            return NONE;
        }
        Names names = Names.of(wanted);
        Found found = new Found(new HashMap<>(), new HashMap<>(), new java.util.HashSet<>());
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return UNREADABLE;
            }
            readObject(p, null, names, found);
            if (p.nextToken() != null) {
                return UNREADABLE; // trailing content: another parser may read another document
            }
        } catch (IOException | RuntimeException e) {
            return UNREADABLE;
        }
        return new BodyParams(found.values(), found.limits(), found.present(), false, true);
    }

    /** What one read collects: see the fields of the same names. */
    private record Found(Map<String, Double> values, Map<String, Double> limits, Set<String> present) {
    }

    /**
     * The wanted names by level, each level matched folded; a wanted output-token limit brings the
     * whole family at its level. Built per read: a handful of names.
     */
    private record Names(FoldedNames top, FoldedNames containers, Map<String, FoldedNames> inside) {
        static Names of(Set<String> wanted) {
            List<String> top = new ArrayList<>();
            Map<String, List<String>> inner = new HashMap<>();
            for (String w : wanted) {
                int dot = w.indexOf('.');
                List<String> level = dot < 0 ? top
                        : inner.computeIfAbsent(KeyFold.fold(w.substring(0, dot)), k -> new ArrayList<>());
                level.add(w.substring(dot + 1));
                if (isTokenLimit(w)) {
                    level.addAll(TOKEN_LIMIT_NAMES); // FoldedNames drops the repeats
                }
            }
            Map<String, FoldedNames> inside = new HashMap<>();
            inner.forEach((c, n) -> inside.put(c, FoldedNames.of(n)));
            return new Names(FoldedNames.of(top), FoldedNames.of(inner.keySet()), inside);
        }
    }

    /** @param container the folded name of the enclosing wanted object, or null at the top level */
    private static void readObject(JsonParser p, String container, Names names, Found found) throws IOException {
        FoldedNames here = container == null ? names.top() : names.inside().get(container);
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken t = p.nextToken();
            if (container == null && t == JsonToken.START_OBJECT) {
                String c = names.containers().find(key);
                if (c != null) {
                    readObject(p, KeyFold.fold(c), names, found);
                    continue;
                }
            }
            String name = here.find(key);
            if (name == null) {
                p.skipChildren();
                continue;
            }
            if (t == JsonToken.VALUE_NULL) {
                p.skipChildren();
                continue; // the server's default, as if absent
            }
            String path = container == null ? KeyFold.fold(name) : container + "." + KeyFold.fold(name);
            boolean limit = TOKEN_LIMITS.find(name) != null;
            double v = value(p, t, limit);
            found.present().add(path);
            found.values().merge(path, v, Math::max);
            if (limit) {
                found.limits().merge(container == null ? "" : container, v, Math::max);
            }
            p.skipChildren();
        }
    }

    private static double value(JsonParser p, JsonToken t, boolean tokenLimit) throws IOException {
        double v = switch (t) {
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getValueAsDouble();
            case VALUE_TRUE -> 1.0;
            case VALUE_FALSE -> 0.0;
            case VALUE_STRING -> numericString(p.getText());
            default -> Double.POSITIVE_INFINITY; // an array or an object: not a number any server reads
        };
        if (Double.isNaN(v) || (tokenLimit && v <= 0)) {
            return Double.POSITIVE_INFINITY;
        }
        return v;
    }

    /** The number pydantic's lax mode reads in {@code s}, or +∞ when we cannot read it as one. */
    private static double numericString(String s) {
        String d = s.strip().replace("_", "");
        return DECIMAL.matcher(d).matches() ? Double.parseDouble(d) : Double.POSITIVE_INFINITY;
    }

    boolean unreadable() {
        return unreadable;
    }

    /** Whether {@code name} (a conf path) is an output-token limit: its last segment, folded. */
    static boolean isTokenLimit(String name) {
        return TOKEN_LIMITS.find(name.substring(name.indexOf('.') + 1)) != null;
    }

    /**
     * True if {@code name} is present in any spelling with a value above {@code threshold}, or the body
     * could not be read. For an output-token limit: if any limit of the family at its level is.
     */
    boolean above(String name, double threshold) {
        if (unreadable) {
            return true;
        }
        int dot = name.indexOf('.');
        Double v = isTokenLimit(name) ? limits.get(dot < 0 ? "" : KeyFold.fold(name.substring(0, dot)))
                : values.get(folded(name));
        return v != null && v > threshold;
    }

    /** Whether the body is a JSON object that gives {@code name} a value (any spelling, not null). */
    boolean given(String name) {
        return present.contains(folded(name));
    }

    /** Whether a JSON object was read (an empty body is none: nothing is generated from it). */
    boolean isObject() {
        return object;
    }

    private static String folded(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? KeyFold.fold(name) : KeyFold.fold(name.substring(0, dot)) + "." + KeyFold.fold(name.substring(dot + 1));
    }
}
