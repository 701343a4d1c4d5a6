package io.inferencepam.pam.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import io.inferencepam.pam.catalog.OpenAiApi;
import io.inferencepam.pam.core.KeyFold;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Reads the top-level model field(s) of a JSON request body with a streaming parser that walks the
 * whole document: a duplicate key at any depth, a top-level key that a case-insensitive decoder
 * would take for a model field ({@link KeyFold}), trailing content, bytes that are not
 * well-formed UTF-8 or any syntax error refuses the body, because a model server's JSON library
 * might read it differently. No tree is built; the caller bounds the body's size.
 */
final class JsonModelField {
    /**
     * Field names are never interned: {@code String.intern} of every distinct name put an
     * attacker-chosen number of strings into the JVM-wide string table and was most of the cost of
     * a body with a million distinct keys. {@link #CANONICAL} keeps a table of the names it has
     * seen, which makes real bodies (a few names, "role", "content", "type", repeated) fast to
     * read, but costs a table entry per distinct name; past {@link #NAME_BUDGET} names the body is
     * read again by {@link #PLAIN}, which keeps no table (slower on long strings, several times
     * cheaper per distinct name). Figures: docs/plugins/pam-auth.md#performance.
     */
    private static final JsonFactory CANONICAL = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();
    private static final JsonFactory PLAIN = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();
    /** Member names (at any depth) read with {@link #CANONICAL}; real requests have far fewer. */
    static final int NAME_BUDGET = 10_000;
    static final int MAX_MODEL_LENGTH = 256;

    private JsonModelField() {
    }

    /** Result: the value of each named top-level field (null if absent), or a refusal. */
    sealed interface Result {
    }

    record Fields(String[] values) implements Result {
    }

    record Bad(Rejection rejection) implements Result {
    }

    /** The body names more members than {@link #NAME_BUDGET}: read it again with {@link #PLAIN}. */
    private record TooManyNames() implements Result {
    }

    static Result read(byte[] body, List<String> fieldNames) {
        return read(body, fieldNames, List.of());
    }

    /**
     * As {@link #read(byte[], List)}; a body that sets one of {@code adapterFields} (any non-null
     * value; at the top level or in {@code parameters}) is refused: it would pick a model or adapter
     * the gateway did not entitle.
     */
    static Result read(byte[] body, List<String> fieldNames, List<String> adapterFields) {
        if (body.length == 0) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is empty; a JSON object with a \"model\" field is required."));
        }
        // Jackson would auto-detect UTF-16/32 from a BOM or NUL bytes; model servers may not: UTF-8 only.
        if ((body[0] & 0xff) == 0xef || (body[0] & 0xff) == 0xfe || (body[0] & 0xff) == 0xff || body[0] == 0
                || (body.length > 1 && body[1] == 0)) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body must be UTF-8 JSON without a byte order mark."));
        }
        // Jackson checks continuation bytes but accepts overlong forms (C0 AD), encoded surrogates
        // (ED A0 80) and code points above U+10FFFF, and skips unread strings unchecked.
        if (!StrictUtf8.isWellFormed(body)) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid UTF-8."));
        }
        Result r = scan(CANONICAL, body, fieldNames, adapterFields, NAME_BUDGET);
        return r instanceof TooManyNames ? scan(PLAIN, body, fieldNames, adapterFields, Integer.MAX_VALUE) : r;
    }

    private static Result scan(JsonFactory factory, byte[] body, List<String> fieldNames, List<String> adapterFields,
            int nameBudget) {
        String[] values = new String[fieldNames.size()];
        int[] budget = {nameBudget};
        try (JsonParser p = factory.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Bad(Rejection.badRequest("invalid_json", "The request body must be a JSON object."));
            }
            while (p.nextToken() != JsonToken.END_OBJECT) {
                // a FIELD_NAME at depth 1
                if (--budget[0] < 0) {
                    return new TooManyNames();
                }
                String name = p.currentName();
                JsonToken v = p.nextToken();
                int idx = fieldNames.indexOf(name);
                if (idx < 0) {
                    Optional<String> field = foldsToField(name, fieldNames);
                    if (field.isPresent()) {
                        return new Bad(Rejection.badRequest("ambiguous_json_key", "The request body has a key that differs from \""
                                + field.get() + "\" only in letter case, '_' or '-'; some model servers read it as \"" + field.get()
                                + "\". Send the key exactly as \"" + field.get() + "\", once."));
                    }
                }
                if (idx < 0 && !adapterFields.isEmpty()) {
                    Result adapter = adapterField(p, name, v, adapterFields, budget);
                    if (adapter != null) {
                        return adapter;
                    }
                    if (v == JsonToken.START_OBJECT && KeyFold.same(name, OpenAiApi.PARAMETERS)) {
                        continue; // read to its end by adapterField
                    }
                }
                if (idx >= 0) {
                    if (v != JsonToken.VALUE_STRING) {
                        return new Bad(Rejection.badRequest("invalid_model", "The \"" + name + "\" field must be a string."));
                    }
                    values[idx] = p.getText();
                } else if ((v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) && !walkToEnd(p, budget)) {
                    return new TooManyNames();
                }
            }
            if (p.nextToken() != null) {
                return new Bad(Rejection.badRequest("invalid_json", "The request body has content after the JSON object."));
            }
        } catch (StreamReadException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
                return new Bad(Rejection.badRequest("duplicate_json_key", "The request body repeats a JSON key; each key may appear once per object."));
            }
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid JSON."));
        } catch (IOException e) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid JSON."));
        }
        return new Fields(values);
    }

    /**
     * A refusal when member {@code name} (whose value starts at {@code v}) sets an adapter field; a
     * {@code parameters} object is read to its end here, its members checked the same way. Null: go on.
     */
    private static Result adapterField(JsonParser p, String name, JsonToken v, List<String> adapterFields, int[] budget)
            throws IOException {
        Optional<String> field = foldsToField(name, adapterFields);
        if (field.isPresent() && v != JsonToken.VALUE_NULL) {
            return selectsAdapter(field.get());
        }
        if (v != JsonToken.START_OBJECT || !KeyFold.same(name, OpenAiApi.PARAMETERS)) {
            return null;
        }
        while (p.nextToken() != JsonToken.END_OBJECT) {
            if (--budget[0] < 0) {
                return new TooManyNames();
            }
            Optional<String> nested = foldsToField(p.currentName(), adapterFields);
            JsonToken mv = p.nextToken();
            if (nested.isPresent() && mv != JsonToken.VALUE_NULL) {
                return selectsAdapter(OpenAiApi.PARAMETERS + "." + nested.get());
            }
            if ((mv == JsonToken.START_OBJECT || mv == JsonToken.START_ARRAY) && !walkToEnd(p, budget)) {
                return new TooManyNames();
            }
        }
        return null;
    }

    private static Bad selectsAdapter(String field) {
        return new Bad(Rejection.badRequest("model_selector_not_allowed", "The request body selects a model or adapter with \""
                + field + "\"; this gateway entitles the \"model\" field only. Name the adapter in \"model\"."));
    }

    private static Optional<String> foldsToField(String name, List<String> fieldNames) {
        for (String f : fieldNames) {
            if (KeyFold.same(name, f)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /**
     * Consumes a nested value completely (not skipChildren: duplicate detection needs every token);
     * false when the member names it holds exhaust {@code budget[0]}.
     */
    private static boolean walkToEnd(JsonParser p, int[] budget) throws IOException {
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IOException("truncated");
            }
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                depth++;
            } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                depth--;
            } else if (t == JsonToken.FIELD_NAME && --budget[0] < 0) {
                return false;
            }
        }
        return true;
    }

    static Optional<String> problemWithName(String model) {
        if (model.isEmpty()) {
            return Optional.of("The model name is empty.");
        }
        if (model.length() > MAX_MODEL_LENGTH) {
            return Optional.of("The model name is too long.");
        }
        for (int i = 0; i < model.length(); i++) {
            char c = model.charAt(i);
            if (Character.isISOControl(c)) {
                return Optional.of("The model name contains control characters.");
            }
            // nginx joins a header's repeated lines with ", ": a name with a comma could be two
            // X-Model lines read as one, and an upstream that reads the first line runs another model
            if (c == ',') {
                return Optional.of("The model name contains a comma; name one model, once.");
            }
            // An escaped lone surrogate ("\ud800") is not a character: Go decodes it to U+FFFD, so
            // the server would look up another name than the one checked here.
            if (Character.isHighSurrogate(c) ? i + 1 == model.length() || !Character.isLowSurrogate(model.charAt(++i))
                    : Character.isLowSurrogate(c)) {
                return Optional.of("The model name contains an unpaired surrogate escape.");
            }
        }
        return Optional.empty();
    }
}
