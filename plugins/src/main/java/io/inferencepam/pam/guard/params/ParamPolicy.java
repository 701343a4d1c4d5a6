package io.inferencepam.pam.guard.params;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.inferencepam.pam.auth.Glob;
import io.inferencepam.pam.catalog.BodyShape;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * pam-guard's parameter policy against model extraction: per model pattern, a cap on output tokens,
 * forbidden features (log-probabilities, echo, logit bias, {@code n > 1}, best-of), a temperature
 * range and streaming off. Rules are tried in order and the <b>first rule whose patterns cover the
 * model applies</b> (none: the call passes), like a firewall: put specific patterns first, end with
 * {@code "**"} for a default. Immutable; built once per conf.
 */
public final class ParamPolicy {

    /** The JSON Schema of the {@code params} attribute of the pam-guard conf (a fragment, no {@code $schema}). */
    public static final String SCHEMA = """
            {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "rules": {"type": "array", "maxItems": 256, "items": {
                  "type": "object", "additionalProperties": false, "required": ["id"],
                  "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "models": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 256}},
                    "action": {"enum": ["deny", "rewrite"]},
                    "max_tokens": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    "forbid": {"type": "array", "uniqueItems": true,
                      "items": {"enum": ["logprobs", "echo", "logit_bias", "n", "best_of"]}},
                    "temperature": {"type": "object", "additionalProperties": false, "minProperties": 1,
                      "properties": {"min": {"type": "number", "minimum": 0, "maximum": 100},
                                     "max": {"type": "number", "minimum": 0, "maximum": 100}}},
                    "force_stream_off": {"type": "boolean"}
                  }}}
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

    private static final BigDecimal TEMPERATURE_CEILING = BigDecimal.valueOf(100);

    private final List<ParamRule> rules;
    private final ShapeFields fields;

    /** A model's rule, remembered. */
    private record RuleMemo(String model, Optional<ParamRule> rule) {
    }

    /** Longer model names are matched every time rather than held in {@link #memo}. */
    private static final int MEMO_NAME_CHARS = 256;
    /**
     * The rules of the last models seen, by name hash: a route serves a few models, and matching each
     * rule's patterns per call cost more than the rest of the policy. An entry is immutable, so a racy
     * read sees a whole one or null (final fields); a collision or a new model only costs the match.
     */
    private final RuleMemo[] memo = new RuleMemo[16];

    public ParamPolicy(List<ParamRule> rules, ShapeFields fields) {
        this.rules = List.copyOf(rules);
        this.fields = fields;
    }

    /**
     * Parses the {@code params} conf ({@code null} or missing: no rules).
     *
     * @throws IllegalArgumentException naming the JSON path of the first problem
     */
    public static ParamPolicy fromConf(JsonNode paramsConf) {
        if (paramsConf == null || paramsConf.isMissingNode() || paramsConf.isNull()) {
            return new ParamPolicy(List.of(), ShapeFields.builtIn());
        }
        Set<ValidationMessage> errors = COMPILED.validate(paramsConf);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("params: " + errors.iterator().next().getMessage());
        }
        List<ParamRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (JsonNode r : paramsConf.path("rules")) {
            String at = "params.rules[" + i++ + "]";
            String id = r.get("id").asText();
            if (!ids.add(id)) {
                throw new IllegalArgumentException(at + ".id: duplicate rule id \"" + id + "\"");
            }
            List<Glob> models = new ArrayList<>();
            if (r.has("models")) {
                for (JsonNode m : r.get("models")) {
                    models.add(new Glob(m.asText()));
                }
            } else {
                models.add(new Glob("**"));
            }
            Set<Feature> forbid = EnumSet.allOf(Feature.class);
            if (r.has("forbid")) {
                forbid = EnumSet.noneOf(Feature.class);
                for (JsonNode f : r.get("forbid")) {
                    forbid.add(Feature.fromConf(f.asText()));
                }
            }
            Optional<ParamRule.Range> temperature = Optional.empty();
            if (r.has("temperature")) {
                JsonNode t = r.get("temperature");
                BigDecimal min = t.has("min") ? t.get("min").decimalValue() : BigDecimal.ZERO;
                BigDecimal max = t.has("max") ? t.get("max").decimalValue() : TEMPERATURE_CEILING;
                try {
                    temperature = Optional.of(new ParamRule.Range(min, max));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(at + ".temperature: " + e.getMessage(), e);
                }
            }
            rules.add(new ParamRule(id, models,
                    "rewrite".equals(r.path("action").asText("deny")) ? ParamRule.Action.REWRITE : ParamRule.Action.DENY,
                    r.has("max_tokens") ? OptionalInt.of(r.get("max_tokens").intValue()) : OptionalInt.empty(),
                    forbid, temperature, r.path("force_stream_off").asBoolean(false)));
        }
        return new ParamPolicy(rules, ShapeFields.builtIn());
    }

    /** The rule that applies to {@code model} ({@code null}: the empty name), if any. */
    public Optional<ParamRule> ruleFor(String model) {
        String name = model == null ? "" : model;
        if (name.length() > MEMO_NAME_CHARS) {
            return firstRuleFor(name);
        }
        int slot = name.hashCode() & (memo.length - 1);
        RuleMemo m = memo[slot];
        if (m != null && m.model().equals(name)) {
            return m.rule();
        }
        Optional<ParamRule> rule = firstRuleFor(name);
        memo[slot] = new RuleMemo(name, rule);
        return rule;
    }

    private Optional<ParamRule> firstRuleFor(String name) {
        for (ParamRule r : rules) {
            if (r.covers(name)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether calls for {@code model} must not stream. The plugin refuses endpoints that always stream
     * (TGI {@code /generate_stream}) for such models: no body field can turn their streaming off.
     */
    public boolean forbidsStreaming(String model) {
        return ruleFor(model).map(ParamRule::forceStreamOff).orElse(false);
    }

    /**
     * The top-level members {@link #apply} reads in a body of {@code shape} (containers such as
     * {@code options} included), besides keys that fold to them: nothing when there are no rules.
     */
    public Set<String> reads(BodyShape shape) {
        return rules.isEmpty() ? Set.of() : fields.of(shape).namesIn(null);
    }

    /** Decides a request body of {@code shape} for {@code model}. Never modifies {@code body}. */
    public ParamOutcome apply(BodyShape shape, String model, ObjectNode body) {
        Optional<ParamRule> rule = ruleFor(model);
        if (rule.isEmpty()) {
            return ParamOutcome.PASS;
        }
        ShapeFields.Spec spec = fields.of(shape);
        if (spec.controlsNothing()) {
            return ParamOutcome.PASS;
        }
        return new ParamCheck(rule.get(), shape, spec, fields, body).run();
    }
}
