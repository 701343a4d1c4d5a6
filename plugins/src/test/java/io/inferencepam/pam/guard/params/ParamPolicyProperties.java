package io.inferencepam.pam.guard.params;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Whatever the body — controlled names in odd spellings, values as strings, floats, negatives, huge
 * numbers, nulls, objects — the policy either refuses it or lets through (as is or rewritten) a body
 * that a reference reading, written independently of {@link ParamCheck}, finds safe.
 */
class ParamPolicyProperties {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int CAP = 256;
    static final ParamPolicy DENY = ParamPolicy.fromConf(ParamPolicyTest.json(
            "{'rules':[{'id':'d','max_tokens':256,'force_stream_off':true,'temperature':{'min':0.2,'max':1}}]}"));
    static final ParamPolicy REWRITE = ParamPolicy.fromConf(ParamPolicyTest.json(
            "{'rules':[{'id':'r','action':'rewrite','max_tokens':256,'force_stream_off':true,'temperature':{'min':0.2,'max':1}}]}"));

    static final List<BodyShape> SHAPES = List.of(BodyShape.OPENAI_CHAT, BodyShape.OPENAI_COMPLETIONS,
            BodyShape.OPENAI_RESPONSES, BodyShape.OLLAMA_CHAT, BodyShape.OLLAMA_GENERATE, BodyShape.TGI_GENERATE);

    /** Reference knowledge, per shape: "container.name" → the values that count as off (JSON texts), or a special word. */
    static Map<String, String> reference(BodyShape shape) {
        return switch (shape) {
            case OPENAI_CHAT -> Map.ofEntries(Map.entry("max_tokens", "CAP"), Map.entry("max_completion_tokens", "CAP"),
                    Map.entry("temperature", "TEMP"), Map.entry("stream", "STREAM"), Map.entry("stream_options", "ANY"),
                    Map.entry("logprobs", "null false"), Map.entry("top_logprobs", "null 0"), Map.entry("prompt_logprobs", "null"),
                    Map.entry("return_hidden_states", "null false"), Map.entry("echo", "null false"), Map.entry("logit_bias", "null {}"),
                    Map.entry("allowed_token_ids", "null"), Map.entry("n", "null 1"), Map.entry("best_of", "null 1"));
            case OPENAI_COMPLETIONS -> Map.ofEntries(Map.entry("max_tokens", "CAP"),
                    Map.entry("temperature", "TEMP"), Map.entry("stream", "STREAM"), Map.entry("stream_options", "ANY"),
                    Map.entry("logprobs", "null"), Map.entry("prompt_logprobs", "null"),
                    Map.entry("return_hidden_states", "null false"), Map.entry("echo", "null false"), Map.entry("logit_bias", "null {}"),
                    Map.entry("allowed_token_ids", "null"), Map.entry("n", "null 1"), Map.entry("best_of", "null 1"));
            case OPENAI_RESPONSES -> Map.of("max_output_tokens", "CAP", "temperature", "TEMP", "stream", "STREAM",
                    "stream_options", "ANY", "top_logprobs", "null 0", "include", "INCLUDE", "prompt_logprobs", "null");
            case OLLAMA_CHAT, OLLAMA_GENERATE -> Map.of("options", "OBJECT", "options.num_predict", "CAP",
                    "options.temperature", "TEMP", "stream", "STREAM_OFF_REQUIRED", "logprobs", "null false", "top_logprobs", "null 0");
            case TGI_GENERATE -> Map.of("parameters", "OBJECT", "parameters.max_new_tokens", "CAP",
                    "parameters.temperature", "TEMP", "stream", "STREAM", "parameters.details", "null false",
                    "parameters.decoder_input_details", "null false", "parameters.top_n_tokens", "null 0", "parameters.best_of", "null 1");
            default -> Map.of();
        };
    }

    static String looseFold(String s) {
        return s.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    /** The reference reading: would the model server behind this shape see a safe request? */
    static boolean safe(BodyShape shape, ObjectNode body) {
        Map<String, String> ref = reference(shape);
        if (!exactSpellings(body, "", ref)) {
            return false;
        }
        boolean capSeen = false;
        for (var e : ref.entrySet()) {
            JsonNode v = body.at("/" + e.getKey().replace('.', '/'));
            boolean absent = v.isMissingNode() || v.isNull();
            switch (e.getValue()) {
                case "ANY" -> { }
                case "OBJECT" -> {
                    if (!absent && !v.isObject()) {
                        return false;
                    }
                    if (v.isObject() && !exactSpellings((ObjectNode) v, e.getKey() + ".", ref)) {
                        return false;
                    }
                }
                case "CAP" -> {
                    if (!absent) {
                        if (!v.isNumber() || v.decimalValue().compareTo(BigDecimal.ONE) < 0
                                || v.decimalValue().compareTo(BigDecimal.valueOf(CAP)) > 0
                                || v.decimalValue().stripTrailingZeros().scale() > 0) {
                            return false;
                        }
                        capSeen = true;
                    }
                }
                case "TEMP" -> {
                    if (!absent && (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() < 0.2 || v.doubleValue() > 1.0)) {
                        return false;
                    }
                }
                case "STREAM" -> {
                    if (!absent && !(v.isBoolean() && !v.booleanValue())) {
                        return false;
                    }
                }
                case "STREAM_OFF_REQUIRED" -> {
                    if (!(v.isBoolean() && !v.booleanValue())) {
                        return false;
                    }
                }
                case "INCLUDE" -> {
                    if (!absent) {
                        if (!v.isArray()) {
                            return false;
                        }
                        for (JsonNode x : v) {
                            if (!x.isTextual() || x.textValue().toLowerCase(Locale.ROOT).contains("logprobs")) {
                                return false;
                            }
                        }
                    }
                }
                default -> {
                    if (!absent && !offValue(e.getValue(), v)) {
                        return false;
                    }
                }
            }
        }
        return capSeen;
    }

    private static boolean offValue(String offs, JsonNode v) {
        for (String off : offs.split(" ")) {
            switch (off) {
                case "false" -> {
                    if (v.isBoolean() && !v.booleanValue()) {
                        return true;
                    }
                }
                case "{}" -> {
                    if (v.isObject() && v.isEmpty()) {
                        return true;
                    }
                }
                case "0", "1" -> {
                    if (v.isNumber() && Double.isFinite(v.doubleValue()) && v.decimalValue().compareTo(new BigDecimal(off)) == 0) {
                        return true;
                    }
                }
                default -> { }
            }
        }
        return false;
    }

    private static boolean exactSpellings(ObjectNode node, String prefix, Map<String, String> ref) {
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            for (String name : ref.keySet()) {
                if (!name.startsWith(prefix) || name.substring(prefix.length()).contains(".")) {
                    continue;
                }
                String bare = name.substring(prefix.length());
                if (!k.equals(bare) && looseFold(k).equals(looseFold(bare))) {
                    return false;
                }
            }
        }
        return true;
    }

    // ---- generators ----

    static final List<String> VALUES = List.of("null", "true", "false", "0", "1", "1.0", "2", "-1", "-2", "1.5", "0.2", "0.7",
            "256", "256.0", "257", "1e20", "1e400", "-1e400", "99999999999999999999999", "\"1\"", "\"5\"", "\"yes\"", "\"false\"",
            "{}", "{\"1\":100}", "[]", "[1]", "[\"message.output_text.logprobs\"]", "[\"reasoning.encrypted_content\"]",
            "{\"num_predict\":-1}", "{\"max_new_tokens\":99999,\"details\":true}", "{\"num_predict\":10}");

    @Provide
    Arbitrary<Tuple.Tuple2<BodyShape, ObjectNode>> bodies() {
        Arbitrary<BodyShape> shape = Arbitraries.of(SHAPES);
        return shape.flatMap(s -> {
            List<String> names = new java.util.ArrayList<>(reference(s).keySet());
            names.addAll(List.of("model", "messages", "top_p", "seed"));
            Arbitrary<String> spelling = Arbitraries.of(names).flatMap(n -> Arbitraries.of(0, 0, 0, 1, 2, 3).map(v -> spell(n, v)));
            Arbitrary<String> value = Arbitraries.of(VALUES);
            Arbitrary<List<Tuple.Tuple2<String, String>>> entries = Combinators.combine(spelling, value).as(Tuple::of).list().ofMaxSize(8);
            return entries.map(es -> Tuple.of(s, build(es)));
        });
    }

    private static String spell(String name, int variant) {
        return switch (variant) {
            case 1 -> name.toUpperCase(Locale.ROOT);
            case 2 -> name.replace('_', '-');
            case 3 -> Character.toUpperCase(name.charAt(0)) + name.substring(1);
            default -> name;
        };
    }

    private static ObjectNode build(List<Tuple.Tuple2<String, String>> entries) {
        ObjectNode root = JSON.createObjectNode();
        for (var e : entries) {
            JsonNode v;
            try {
                v = JSON.readTree(e.get2());
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
            String path = e.get1();
            int dot = path.indexOf('.');
            if (dot < 0) {
                root.set(path, v);
            } else {
                String c = path.substring(0, dot);
                ObjectNode inner = root.get(c) instanceof ObjectNode o ? o : root.putObject(c);
                inner.set(path.substring(dot + 1), v);
            }
        }
        return root;
    }

    // ---- properties ----

    @Property(tries = 3000)
    void denyModeRefusesOrPassesOnlySafeBodies(@ForAll("bodies") Tuple.Tuple2<BodyShape, ObjectNode> t) {
        ParamOutcome o = DENY.apply(t.get1(), "m", t.get2());
        if (o instanceof ParamOutcome.Pass) {
            assertThat(safe(t.get1(), t.get2())).as(t.get2().toString()).isTrue();
        } else if (o instanceof ParamOutcome.Rewrite r) {
            // deny mode rewrites only to fill in what is missing (the cap, Ollama's stream switch)
            assertThat(safe(t.get1(), r.body())).as(t.get2() + " -> " + r.body()).isTrue();
            assertThat(r.changes()).allMatch(c -> c.endsWith("(missing)") || c.contains("(missing,"));
        }
    }

    @Property(tries = 3000)
    void rewriteModeRefusesOrDeliversOnlySafeBodies(@ForAll("bodies") Tuple.Tuple2<BodyShape, ObjectNode> t) {
        String before = t.get2().toString();
        ParamOutcome o = REWRITE.apply(t.get1(), "m", t.get2());
        assertThat(t.get2().toString()).isEqualTo(before);
        ObjectNode delivered = o instanceof ParamOutcome.Rewrite r ? r.body() : o instanceof ParamOutcome.Pass ? t.get2() : null;
        if (delivered != null) {
            assertThat(safe(t.get1(), delivered)).as(before + " -> " + delivered).isTrue();
            // a corrected body needs no further correction
            assertThat(REWRITE.apply(t.get1(), "m", delivered)).isInstanceOf(ParamOutcome.Pass.class);
        }
    }

    @Property(tries = 2000)
    void aRewriteNeverIncreasesACappedValue(@ForAll("bodies") Tuple.Tuple2<BodyShape, ObjectNode> t) {
        if (!(REWRITE.apply(t.get1(), "m", t.get2()) instanceof ParamOutcome.Rewrite r)) {
            return;
        }
        for (var e : reference(t.get1()).entrySet()) {
            if (!e.getValue().equals("CAP")) {
                continue;
            }
            String ptr = "/" + e.getKey().replace('.', '/');
            JsonNode was = t.get2().at(ptr);
            JsonNode now = r.body().at(ptr);
            if (now.isMissingNode()) {
                continue;
            }
            assertThat(now.decimalValue()).isLessThanOrEqualTo(BigDecimal.valueOf(CAP));
            if (was.isNumber() && Double.isFinite(was.doubleValue()) && was.decimalValue().compareTo(BigDecimal.ONE) >= 0) {
                assertThat(now.decimalValue()).isLessThanOrEqualTo(was.decimalValue());
            }
        }
    }

    @Property(tries = 500)
    void aForbiddenFieldCannotBeSmuggledInAnyTypeOrSpelling(@ForAll("forbiddenValues") String value,
            @ForAll("spellings") String spelling) {
        if ((spelling.equals("n") || spelling.equals("best_of")) && value.matches("1|1\\.0")) {
            return; // n = 1 and best_of = 1 are allowed
        }
        for (ParamPolicy p : List.of(DENY, REWRITE)) {
            ObjectNode b = ParamPolicyTest.body("{'max_tokens':5}");
            try {
                b.set(spelling, JSON.readTree(value));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            ParamOutcome o = p.apply(BodyShape.OPENAI_CHAT, "m", b);
            assertThat(o).as(b.toString()).isNotInstanceOf(ParamOutcome.Pass.class);
            if (o instanceof ParamOutcome.Rewrite r) {
                assertThat(r.body().has(spelling)).isFalse();
            }
        }
    }

    @Provide
    Arbitrary<String> forbiddenValues() {
        return Arbitraries.of("true", "\"true\"", "\"yes\"", "1", "1.0", "2", "2.0", "\"2\"", "5", "-1", "1e400", "[1]", "{\"a\":1}", "\"on\"");
    }

    @Provide
    Arbitrary<String> spellings() {
        return Arbitraries.of("logprobs", "echo", "best_of", "n", "top_logprobs", "Logprobs", "LOGPROBS", "ECHO", "Best_Of", "best-of",
                "bestof", "N", "TOP_LOGPROBS", "top-logprobs");
    }

}
