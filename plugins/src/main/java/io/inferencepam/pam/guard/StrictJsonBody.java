package io.inferencepam.pam.guard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.KeyFold;
import io.inferencepam.pam.auth.StrictUtf8;
import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

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
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (MismatchedInputException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
                return new Refused("duplicate_json_key", "The request body repeats a JSON key; each key may appear once per object.");
            }
            return new Refused("invalid_json", "The request body is not valid JSON.");
        } catch (IOException e) {
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
        int n = obj.size();
        if (n < 2) {
            return null;
        }
        if (n <= SMALL_OBJECT) {
            // pairwise without allocating: objects here are small (a message has 2-4 keys)
            String[] names = new String[n];
            int i = 0;
            for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
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
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
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
