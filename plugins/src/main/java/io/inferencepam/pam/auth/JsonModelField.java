package io.inferencepam.pam.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
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
     * Field names are not interned: {@code String.intern} of every distinct name put an
     * attacker-chosen number of strings into the JVM-wide string table and was most of the cost of
     * a body with a million distinct keys (measured in docs/plugins/pam-auth.md#performance).
     * Canonicalisation stays on: real bodies repeat a few names ("role", "content", "type"), and
     * the byte parser it selects is several times faster on long strings than the reader path.
     */
    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();
    private static final int UTF8_CHUNK = 8192;
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
        // Jackson checks continuation bytes but accepts overlong forms (C0 AD), encoded surrogates
        // (ED A0 80) and code points above U+10FFFF, and skips unread strings unchecked.
        if (!isWellFormedUtf8(body)) {
            return new Bad(Rejection.badRequest("invalid_json", "The request body is not valid UTF-8."));
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

    /**
     * Strict UTF-8 (RFC 3629): the JDK's decoder reports overlong forms, surrogates, code points
     * above U+10FFFF and truncated sequences. Decoded in chunks into one small buffer, so a large
     * body costs no allocation of its size.
     */
    static boolean isWellFormedUtf8(byte[] body) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        CharBuffer out = CharBuffer.allocate(UTF8_CHUNK);
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isError()) {
                return false;
            }
            out.clear();
            if (r.isUnderflow()) {
                return !decoder.flush(out).isError();
            }
        }
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
