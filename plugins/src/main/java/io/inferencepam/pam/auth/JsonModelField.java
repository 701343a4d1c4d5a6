package io.inferencepam.pam.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Reads the top-level model field(s) of a JSON request body with a streaming parser that walks the
 * whole document: a duplicate key at any depth, trailing content, invalid UTF-8 or any syntax
 * error refuses the body, because a model server's JSON library might read it differently.
 */
final class JsonModelField {
    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
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

    static Result read(byte[] body, List<String> fieldNames) {
        if (body.length == 0) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is empty; a JSON object with a \"model\" field is required."));
        }
        // Jackson would auto-detect UTF-16/32 from a BOM or NUL bytes; model servers may not: UTF-8 only.
        if ((body[0] & 0xff) == 0xef || (body[0] & 0xff) == 0xfe || (body[0] & 0xff) == 0xff || body[0] == 0
                || (body.length > 1 && body[1] == 0)) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body must be UTF-8 JSON without a byte order mark."));
        }
        String[] values = new String[fieldNames.size()];
        try (JsonParser p = STRICT.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Bad(Rejection.badRequest("invalid_json", "The request body must be a JSON object."));
            }
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
                // t is FIELD_NAME at depth 1
                String name = p.currentName();
                JsonToken v = p.nextToken();
                int idx = fieldNames.indexOf(name);
                if (idx >= 0) {
                    if (v != JsonToken.VALUE_STRING) {
                        return new Bad(Rejection.badRequest("invalid_model", "The \"" + name + "\" field must be a string."));
                    }
                    values[idx] = p.getText();
                } else if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    walkToEnd(p);
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

    /** Consumes a nested value completely (not skipChildren: duplicate detection needs every token). */
    private static void walkToEnd(JsonParser p) throws IOException {
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
            }
        }
    }

    static Optional<String> problemWithName(String model) {
        if (model.isEmpty()) {
            return Optional.of("The model name is empty.");
        }
        if (model.length() > MAX_MODEL_LENGTH) {
            return Optional.of("The model name is too long.");
        }
        for (int i = 0; i < model.length(); i++) {
            if (Character.isISOControl(model.charAt(i))) {
                return Optional.of("The model name contains control characters.");
            }
        }
        return Optional.empty();
    }
}
