package io.inferencepam.pam.guard.params;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.FoldedNames;
import io.inferencepam.pam.guard.params.ShapeFields.FeatureField;
import io.inferencepam.pam.guard.params.ShapeFields.Kind;
import io.inferencepam.pam.guard.params.ShapeFields.Loc;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * One rule checked against one body. Reads the body, collects the corrections a rewrite needs, and
 * applies them to a copy only at the end; the first refusal wins (checks run in a fixed order:
 * spellings, containers, features, cap, temperature, stream).
 *
 * <p>Values are read the way the strictest reading of the model servers would be unsafe to ignore:
 * a controlled number must be a JSON number (Pydantic's lax mode reads {@code "5"} as 5, Go refuses
 * it: a numeric string is refused in both modes, never reinterpreted); {@code 100.0} is the whole
 * number 100 (Pydantic reads it so), {@code 100.5} is not whole (Ollama would truncate it) and
 * infinities and huge numbers are out of range (Go's conversion of {@code 1e20} to int is negative,
 * which Ollama reads as "no limit").
 */
final class ParamCheck {
    private final ParamRule rule;
    private final ShapeFields.Spec spec;
    private final ShapeFields.Levels levels;
    private final ObjectNode body;
    private final List<Consumer<ObjectNode>> fixes = new ArrayList<>();
    private final List<String> changes = new ArrayList<>();

    ParamCheck(ParamRule rule, BodyShape shape, ShapeFields.Spec spec, ShapeFields fields, ObjectNode body) {
        this.rule = rule;
        this.spec = spec;
        this.levels = fields.levels(shape);
        this.body = body;
    }

    ParamOutcome run() {
        ParamOutcome refused = spellings();
        if (refused == null) {
            refused = containers();
        }
        if (refused == null) {
            refused = features();
        }
        if (refused == null) {
            refused = cap();
        }
        if (refused == null) {
            refused = temperature();
        }
        if (refused == null) {
            refused = stream();
        }
        if (refused != null) {
            return refused;
        }
        if (fixes.isEmpty()) {
            return ParamOutcome.PASS;
        }
        ObjectNode copy = body.deepCopy();
        fixes.forEach(f -> f.accept(copy));
        return new ParamOutcome.Rewrite(copy, changes, rule.id());
    }

    /** A controlled name in another spelling: a case-insensitive server (Go) could read it instead. */
    private ParamOutcome spellings() {
        ParamOutcome d = spellingsIn(null, body);
        for (String c : levels.containers()) {
            if (d == null && body.get(c) instanceof ObjectNode inner) {
                d = spellingsIn(c, inner);
            }
        }
        return d;
    }

    private ParamOutcome spellingsIn(String container, ObjectNode node) {
        FoldedNames names = levels.in(container);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String canonical = ShapeFields.otherSpellingOf(names, it.next());
            if (canonical != null) {
                String path = container == null ? canonical : container + "." + canonical;
                return deny(path, "The body names the parameter '" + path + "' in another spelling; send it only as '"
                        + canonical + "'");
            }
        }
        return null;
    }

    private ParamOutcome containers() {
        for (String c : levels.containers()) {
            JsonNode v = body.get(c);
            if (v != null && !v.isNull() && !v.isObject()) {
                return deny(c, "The parameter '" + c + "' must be a JSON object");
            }
        }
        return null;
    }

    private ParamOutcome features() {
        for (FeatureField f : spec.features()) {
            if (!rule.forbid().contains(f.feature())) {
                continue;
            }
            Loc loc = f.loc();
            JsonNode v = get(body, loc);
            if (!isOn(f.kind(), v)) {
                continue;
            }
            if (rule.action() == ParamRule.Action.DENY) {
                return deny(loc.path(), f.kind() == Kind.ONE
                        ? "The parameter '" + loc.path() + "' must be 1 for this model"
                        : "The parameter '" + loc.path() + "' is not allowed for this model");
            }
            if (f.kind() == Kind.INCLUDE && v.isArray()) {
                fixes.add(b -> b.set(loc.name(), withoutLogprobs((ArrayNode) v)));
                changes.add(loc.path() + ": log-probability entries removed");
            } else {
                fixes.add(b -> remove(b, loc));
                changes.add(loc.path() + " removed");
            }
        }
        return null;
    }

    static boolean isOn(Kind kind, JsonNode v) {
        if (v == null || v.isNull()) {
            return false;
        }
        return switch (kind) {
            case FLAG -> !(v.isBoolean() && !v.booleanValue());
            case PRESENCE -> true;
            case COUNT -> !(v.isNumber() && signum(v) == 0);
            case ONE -> !(v.isNumber() && isWhole(v) && BigDecimal.ONE.compareTo(decimal(v)) == 0);
            case MAP -> !(v.isObject() && v.isEmpty());
            case INCLUDE -> !v.isArray() || hasLogprobsEntry(v);
        };
    }

    private static boolean hasLogprobsEntry(JsonNode include) {
        for (JsonNode e : include) {
            if (!e.isTextual() || mentionsLogprobs(e.textValue())) {
                return true;
            }
        }
        return false;
    }

    private static boolean mentionsLogprobs(String s) {
        return s.toLowerCase(Locale.ROOT).contains("logprobs");
    }

    private static ArrayNode withoutLogprobs(ArrayNode include) {
        ArrayNode out = include.arrayNode();
        for (JsonNode e : include) {
            if (e.isTextual() && !mentionsLogprobs(e.textValue())) {
                out.add(e);
            }
        }
        return out;
    }

    private ParamOutcome cap() {
        if (rule.maxTokens().isEmpty() || spec.maxTokens().isEmpty()) {
            return null;
        }
        int cap = rule.maxTokens().getAsInt();
        BigDecimal limit = BigDecimal.valueOf(cap);
        boolean present = false;
        for (Loc loc : spec.maxTokens()) {
            JsonNode v = get(body, loc);
            if (v == null || v.isNull()) {
                continue; // null is "use the server's default", which is no limit: same as missing
            }
            present = true;
            if (!v.isNumber()) {
                return deny(loc.path(), "The parameter '" + loc.path() + "' must be a JSON number");
            }
            if (isWhole(v) && signum(v) > 0 && decimal(v).compareTo(limit) <= 0) {
                continue;
            }
            if (rule.action() == ParamRule.Action.DENY) {
                return deny(loc.path(), "The parameter '" + loc.path() + "' must be a whole number from 1 to " + cap
                        + " for this model");
            }
            int lowered = lowered(v, limit);
            fixes.add(b -> set(b, loc, IntNode.valueOf(lowered)));
            changes.add(loc.path() + (lowered == cap ? " set to the cap " + cap : " rounded down to " + lowered));
        }
        if (!present) {
            Loc loc = spec.maxTokensInsert();
            fixes.add(b -> set(b, loc, IntNode.valueOf(cap)));
            changes.add(loc.path() + " set to the cap " + cap + " (missing)");
        }
        return null;
    }

    /**
     * The value a rewrite puts in place of a number outside [1, cap]: a fraction is rounded down (as
     * Ollama truncates it), so a rewrite never raises a limit the client set; zero and negatives mean
     * "no limit" on Ollama and are meaningless elsewhere: they become the cap.
     */
    private static int lowered(JsonNode v, BigDecimal limit) {
        BigDecimal d = decimal(v);
        if (d == null || d.compareTo(limit) > 0) {
            return limit.intValueExact();
        }
        BigDecimal floor = d.setScale(0, java.math.RoundingMode.FLOOR);
        return floor.signum() > 0 ? floor.intValueExact() : limit.intValueExact();
    }

    private ParamOutcome temperature() {
        if (rule.temperature().isEmpty()) {
            return null;
        }
        ParamRule.Range range = rule.temperature().get();
        for (Loc loc : spec.temperature()) {
            JsonNode v = get(body, loc);
            if (v == null || v.isNull()) {
                continue; // the server's default applies
            }
            if (!v.isNumber()) {
                return deny(loc.path(), "The parameter '" + loc.path() + "' must be a JSON number");
            }
            BigDecimal d = decimal(v);
            if (d != null && range.contains(d)) {
                continue;
            }
            if (rule.action() == ParamRule.Action.DENY) {
                return deny(loc.path(), "The parameter '" + loc.path() + "' must be between " + range + " for this model");
            }
            BigDecimal clamped = d != null ? range.clamp(d) : v.doubleValue() > 0 ? range.max() : range.min();
            fixes.add(b -> set(b, loc, DoubleNode.valueOf(clamped.doubleValue())));
            changes.add(loc.path() + " clamped to " + clamped.toPlainString());
        }
        return null;
    }

    private ParamOutcome stream() {
        Loc loc = spec.stream();
        if (!rule.forceStreamOff() || loc == null) {
            return null;
        }
        JsonNode v = get(body, loc);
        if (v == null || v.isNull()) {
            if (spec.streamsByDefault()) {
                fixes.add(b -> set(b, loc, BooleanNode.FALSE));
                changes.add(loc.path() + " set to false (missing, the server streams by default)");
            }
            return null;
        }
        if (!v.isBoolean()) {
            return deny(loc.path(), "The parameter '" + loc.path() + "' must be false for this model");
        }
        if (!v.booleanValue()) {
            return null;
        }
        if (rule.action() == ParamRule.Action.DENY) {
            return deny(loc.path(), "Streaming is not allowed for this model; send \"" + loc.path() + "\": false");
        }
        fixes.add(b -> set(b, loc, BooleanNode.FALSE));
        changes.add(loc.path() + " set to false");
        for (Loc companion : spec.streamCompanions()) {
            if (get(body, companion) != null) {
                fixes.add(b -> remove(b, companion));
                changes.add(companion.path() + " removed");
            }
        }
        return null;
    }

    private ParamOutcome deny(String field, String sentence) {
        return new ParamOutcome.Deny(field, rule.id(), sentence + " (policy rule '" + rule.id() + "').");
    }

    static JsonNode get(ObjectNode root, Loc loc) {
        if (loc.container() == null) {
            return root.get(loc.name());
        }
        return root.get(loc.container()) instanceof ObjectNode inner ? inner.get(loc.name()) : null;
    }

    private static void set(ObjectNode root, Loc loc, JsonNode value) {
        if (loc.container() == null) {
            root.set(loc.name(), value);
            return;
        }
        ObjectNode inner = root.get(loc.container()) instanceof ObjectNode o ? o : root.putObject(loc.container());
        inner.set(loc.name(), value);
    }

    private static void remove(ObjectNode root, Loc loc) {
        if (loc.container() == null) {
            root.remove(loc.name());
        } else if (root.get(loc.container()) instanceof ObjectNode inner) {
            inner.remove(loc.name());
        }
    }

    /** The exact value of a JSON number, or {@code null} for an infinity. */
    static BigDecimal decimal(JsonNode number) {
        if ((number.isDouble() || number.isFloat()) && !Double.isFinite(number.doubleValue())) {
            return null;
        }
        return number.decimalValue();
    }

    private static int signum(JsonNode number) {
        BigDecimal d = decimal(number);
        return d != null ? d.signum() : (number.doubleValue() > 0 ? 1 : -1);
    }

    static boolean isWhole(JsonNode number) {
        if (number.isIntegralNumber()) {
            return true;
        }
        BigDecimal d = decimal(number);
        return d != null && (d.signum() == 0 || d.stripTrailingZeros().scale() <= 0);
    }
}
