package io.inferencepam.pam.guard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.FoldedNames;
import io.inferencepam.pam.core.KeyFold;
import io.inferencepam.pam.auth.StrictUtf8;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses an inference request body once, strictly, into a tree the body checks read and may
 * replace: a body the model server could read differently from the tree is refused instead.
 * Refused: anything but UTF-8 (a BOM, UTF-16/32, ill-formed sequences, checked by pam-auth's
 * {@link StrictUtf8}), a non-object, trailing content, a repeated key at any depth, and two keys of
 * one object that a case-insensitive decoder would take for the same field ({@link KeyFold}:
 * Go's {@code encoding/json}, used by Ollama, lets {@code "MAX_TOKENS"} override {@code "max_tokens"}),
 * checked in the top-level object and in the objects directly under its members (parameters,
 * options, messages), not in deeper user data such as tool schemas. Numbers keep their exact text
 * (big decimals), so a rewrite does not change values the checks did not touch.
 */
final class StrictJsonBody {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();
    /**
     * Duplicates are caught while the tree is built ({@code FAIL_ON_READING_DUP_TREE_KEY}: the
     * object's own map says the key is taken) rather than by the parser's duplicate detector,
     * which keeps a second set of names per object: same verdict, one set fewer.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();

    /** The parser of {@link #view}: the same factory, with the parser's own duplicate detector (it keeps no tree). */
    private static final JsonFactory STREAM = FACTORY.rebuild().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    /** Reads one member's value from {@link #view}'s parser as {@link #MAPPER} would (the parser goes on after it). */
    private static final ObjectReader SUBTREE = MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Up to this many keys an object is checked pairwise (no allocation), above it through a hash of fold keys. */
    private static final int SMALL_OBJECT = 12;

    private StrictJsonBody() {
    }

    /** The parsed body, or why it is refused. */
    sealed interface Result {
    }

    record Parsed(ObjectNode body) implements Result {
    }

    /** @param code {@code invalid_json}, {@code duplicate_json_key} or {@code ambiguous_json_key} */
    record Refused(String code, String message) implements Result {
    }

    static Result parse(byte[] body) {
        Refused notUtf8 = notUtf8(body);
        if (notUtf8 != null) {
            return notUtf8;
        }
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (MismatchedInputException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
                return new Refused("duplicate_json_key", "The request body repeats a JSON key; each key may appear once per object.");
            }
            return new Refused("invalid_json", "The request body is not valid JSON.");
        } catch (IOException | NumberFormatException e) {
            // NumberFormatException: a number Jackson lexes but cannot convert (1e9999999999); it used to
            // escape as a plugin failure (503)
            return new Refused("invalid_json", "The request body is not valid JSON.");
        }
        if (!(tree instanceof ObjectNode obj)) {
            return new Refused("invalid_json", "The request body must be a JSON object.");
        }
        String clash = foldClash(obj);
        if (clash == null) {
            for (JsonNode member : obj) {
                clash = member.isObject() ? foldClash((ObjectNode) member) : member.isArray() ? foldClashInElements(member) : null;
                if (clash != null) {
                    break;
                }
            }
        }
        if (clash != null) {
            return new Refused("ambiguous_json_key", "The request body has keys that differ only in letter case, '_' or '-' (\""
                    + clash + "\"); some model servers read them as one field. Send each key once, exactly.");
        }
        return new Parsed(obj);
    }

    /** The refusal of a body that is empty or not strict UTF-8, or null. */
    private static Refused notUtf8(byte[] body) {
        if (body.length == 0) {
            return new Refused("invalid_json", "The request body is empty; a JSON object is required.");
        }
        int b0 = body[0] & 0xff;
        if (b0 == 0xef || b0 == 0xfe || b0 == 0xff || b0 == 0 || (body.length > 1 && body[1] == 0)) {
            return new Refused("invalid_json", "The request body must be UTF-8 JSON without a byte order mark.");
        }
        if (!StrictUtf8.isWellFormed(body)) {
            return new Refused("invalid_json", "The request body is not valid UTF-8.");
        }
        return null;
    }

    /**
     * The same verdict as {@link #parse}, from one streaming pass that builds only the top-level
     * members a reader asks for: {@code Parsed} holds an object with exactly the members whose key is
     * one of {@code names} or {@code more}, or folds ({@link KeyFold}) to one of them, complete and in
     * body order; everything else is read token by token (numbers converted as the tree converts
     * them, so a number the tree refuses is refused here too), checked for duplicates (the parser's
     * detector) and for folded clashes where {@link #parse} checks them, and dropped. A body this
     * pass refuses is handed to {@link #parse} for the refusal itself, so code and message are the
     * tree's. A common body is first decided by {@link StrictJsonScan}, which skips the text eight bytes
     * at a time and hands Jackson only the wanted members; a body it is not sure of takes the Jackson
     * pass ({@link #viewByJackson}), so the verdict is that pass's on every body.
     */
    static Result view(byte[] body, Members names, List<String> more) {
        Refused notUtf8 = notUtf8(body);
        if (notUtf8 != null) {
            return notUtf8;
        }
        if (names.scanFirst() && body.length <= StrictJsonScan.MAX_BODY) {
            // the common body: one byte-level pass decides and finds the wanted members, Jackson builds only those
            byte[] wanted = StrictJsonScan.wantedMembers(body, key -> wanted(key, names, more));
            if (wanted != null) {
                ObjectNode view = null;
                try (JsonParser p = STREAM.createParser(wanted)) {
                    view = viewOrNull(p, names, more);
                } catch (IOException | RuntimeException e) {
                    // cannot happen for members the scan accepted; the Jackson pass below then decides the whole body
                }
                if (view != null) {
                    return new Parsed(view);
                }
            }
        }
        return viewByJackson(body, names, more);
    }

    /** {@link #view} by the Jackson pass alone: the oracle of {@link StrictJsonScan}, and its fallback for every body it is not sure of. */
    static Result viewByJackson(byte[] body, Members names, List<String> more) {
        Refused notUtf8 = notUtf8(body);
        if (notUtf8 != null) {
            return notUtf8;
        }
        ObjectNode view;
        try (JsonParser p = STREAM.createParser(body)) {
            view = viewOrNull(p, names, more);
        } catch (IOException | RuntimeException e) {
            // StreamConstraintsException and JsonParseException are IOExceptions; number conversions may
            // throw NumberFormatException: in every case the tree parse says why
            view = null;
        }
        if (view != null) {
            return new Parsed(view);
        }
        Result r = parse(body);
        if (r instanceof Parsed) {
            // the two readings disagree: refuse rather than pick one (503)
            throw new IllegalStateException("the streaming body check refused a body the tree parse accepts");
        }
        return r;
    }

    /** The view, or null when the body is to be refused. */
    private static ObjectNode viewOrNull(JsonParser p, Members names, List<String> more) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            return null;
        }
        ObjectNode view = MAPPER.getNodeFactory().objectNode();
        List<String> top = new ArrayList<>();
        List<String> child = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            top.add(key);
            JsonToken v = p.nextToken();
            if (wanted(key, names, more)) {
                JsonNode value = v.isScalarValue() ? scalar(p, v) : SUBTREE.readTree(p);
                String clash = value instanceof ObjectNode o ? foldClash(o) : value.isArray() ? foldClashInElements(value) : null;
                if (clash != null) {
                    return null;
                }
                view.set(key, value);
            } else if (!skipMember(p, v, child)) {
                return null;
            }
        }
        if (t != JsonToken.END_OBJECT || p.nextToken() != null || foldClash(top.iterator(), top.size()) != null) {
            return null;
        }
        return view;
    }

    /**
     * The node {@link #MAPPER}'s tree holds for a scalar (integers by their size, other numbers as
     * exact decimals): the same as {@link #SUBTREE} reads, without a deserialization context per value.
     */
    private static JsonNode scalar(JsonParser p, JsonToken t) throws IOException {
        JsonNodeFactory nodes = MAPPER.getNodeFactory();
        return switch (t) {
            case VALUE_STRING -> nodes.textNode(p.getText());
            case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                case INT -> nodes.numberNode(p.getIntValue());
                case LONG -> nodes.numberNode(p.getLongValue());
                default -> nodes.numberNode(p.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> nodes.numberNode(p.getDecimalValue());
            case VALUE_TRUE -> nodes.booleanNode(true);
            case VALUE_FALSE -> nodes.booleanNode(false);
            default -> SUBTREE.readTree(p);
        };
    }

    private static boolean wanted(String key, Members names, List<String> more) {
        if (names.names().find(key) != null || more.contains(key)) {
            return true;
        }
        for (String n : more) {
            if (KeyFold.same(key, n)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Top-level member names a {@link #view} keeps, with their folded spellings (built once per conf and shape).
     *
     * @param scanFirst whether {@link #view} tries {@link StrictJsonScan} first: not when the members are
     *                  most of the body (the text), which Jackson then reads twice (measured: +18 % on the
     *                  prompt rules' decision)
     */
    record Members(FoldedNames names, boolean scanFirst) {
        static Members of(Set<String> names) {
            return of(names, true);
        }

        static Members of(Set<String> names, boolean scanFirst) {
            return new Members(FoldedNames.of(names), scanFirst);
        }
    }

    /**
     * Reads past the value of a top-level member that starts with {@code t}, checking the keys of the
     * objects {@link #parse} checks (the value itself, or its elements): false when they clash.
     */
    private static boolean skipMember(JsonParser p, JsonToken t, List<String> keys) throws IOException {
        if (t == JsonToken.START_OBJECT) {
            return skipObjectChecked(p, keys);
        }
        if (t != JsonToken.START_ARRAY) {
            convert(p, t);
            return true;
        }
        for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
            if (e == JsonToken.START_OBJECT) {
                if (!skipObjectChecked(p, keys)) {
                    return false;
                }
            } else {
                skipValue(p, e);
            }
        }
        return true;
    }

    /** From just after {@code {} to its {@code }}: false when two keys fold together. */
    private static boolean skipObjectChecked(JsonParser p, List<String> keys) throws IOException {
        keys.clear();
        for (JsonToken f = p.nextToken(); f == JsonToken.FIELD_NAME; f = p.nextToken()) {
            keys.add(p.currentName());
            skipValue(p, p.nextToken());
        }
        return foldClash(keys.iterator(), keys.size()) == null;
    }

    /** Reads past the value that starts with {@code t}, converting every number as the tree would. */
    private static void skipValue(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT && t != JsonToken.START_ARRAY) {
            convert(p, t);
            return;
        }
        int depth = 1;
        while (depth > 0) {
            JsonToken n = p.nextToken();
            if (n == JsonToken.START_OBJECT || n == JsonToken.START_ARRAY) {
                depth++;
            } else if (n == JsonToken.END_OBJECT || n == JsonToken.END_ARRAY) {
                depth--;
            } else {
                convert(p, n);
            }
        }
    }

    /**
     * A number as the tree reads it ({@code USE_BIG_DECIMAL_FOR_FLOATS}; integers by their size), so
     * one the tree refuses (too long, an exponent out of range) is refused here as well.
     */
    private static void convert(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            p.getDecimalValue();
        } else if (t == JsonToken.VALUE_NUMBER_INT) {
            p.getNumberValue();
        }
    }

    private static String foldClashInElements(JsonNode array) {
        for (JsonNode e : array) {
            if (e.isObject()) {
                String c = foldClash((ObjectNode) e);
                if (c != null) {
                    return c;
                }
            }
        }
        return null;
    }

    /** A key of {@code obj} that folds to the same field as an earlier one, or null. */
    private static String foldClash(ObjectNode obj) {
        return foldClash(obj.fieldNames(), obj.size());
    }

    /** A key among the {@code n} {@code keys} that folds to the same field as an earlier one, or null. */
    private static String foldClash(Iterator<String> keys, int n) {
        if (n < 2) {
            return null;
        }
        if (n <= SMALL_OBJECT) {
            // pairwise without allocating: objects here are small (a message has 2-4 keys)
            String[] names = new String[n];
            int i = 0;
            for (Iterator<String> it = keys; it.hasNext(); ) {
                String name = it.next();
                for (int j = 0; j < i; j++) {
                    if (KeyFold.same(names[j], name)) {
                        return shown(name);
                    }
                }
                names[i++] = name;
            }
            return null;
        }
        Map<String, String> seen = new HashMap<>(n * 2);
        for (Iterator<String> it = keys; it.hasNext(); ) {
            String name = it.next();
            if (seen.putIfAbsent(KeyFold.fold(name), name) != null) {
                return shown(name);
            }
        }
        return null;
    }

    private static String shown(String name) {
        return name.length() > 64 ? name.substring(0, 64) : name;
    }
}
