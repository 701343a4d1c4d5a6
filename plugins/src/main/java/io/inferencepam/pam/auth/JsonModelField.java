package io.inferencepam.pam.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * Reads the top-level model field(s) of a JSON request body with a streaming parser that walks the
 * whole document: a duplicate key at any depth, a top-level key that a case-insensitive decoder
 * would take for a model field ({@link JsonKeyFold}), trailing content, bytes that are not
 * well-formed UTF-8 or any syntax error refuses the body, because a model server's JSON library
 * might read it differently. No tree is built; the caller bounds the body's size.
 */
final class JsonModelField {
    /**
     * Neither interned nor canonicalised: both keep a table of every distinct field name, and a
     * body of a million distinct keys spent most of its scan growing those tables (and
     * {@code String.intern} filled the JVM-wide string table with names an attacker chose). The
     * parser reads characters from a strict UTF-8 decoder, so the bytes are checked and decoded
     * in the same pass, in small chunks (measured in docs/plugins/pam-auth.md#performance).
     */
    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
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
        // Jackson's own UTF-8 decoding accepts overlong forms (C0 AD), encoded surrogates (ED A0 80)
        // and code points above U+10FFFF, and skips unread strings unchecked; the JDK's decoder in
        // REPORT mode refuses them all. Every accepted body is decoded to its end (the check for
        // trailing content reads it).
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (JsonParser p = STRICT.createParser(new InputStreamReader(new ByteArrayInputStream(body), utf8))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Bad(Rejection.badRequest("invalid_json", "The request body must be a JSON object."));
            }
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
                // t is FIELD_NAME at depth 1
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
        } catch (CharacterCodingException e) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid UTF-8."));
        } catch (IOException e) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid JSON."));
        }
        return new Fields(values);
    }

    private static Optional<String> foldsToField(String name, List<String> fieldNames) {
        for (String f : fieldNames) {
            if (JsonKeyFold.sameKey(name, f)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
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
            char c = model.charAt(i);
            if (Character.isISOControl(c)) {
                return Optional.of("The model name contains control characters.");
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
