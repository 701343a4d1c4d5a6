package io.inferencepam.pam.catalog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a request will get its token usage reported in the response ({@link UsageFormat}).
 * Every family reports usage unasked except one case: an OpenAI-compatible chat or completions
 * call that streams, which reports usage only when it asks with
 * {@code "stream_options": {"include_usage": true}}. Ollama (its final stream line), the Responses
 * API ({@code response.completed}) and embeddings always report it.
 *
 * <p>What counts as "streams" is what the OpenAI-compatible servers do with the field, not what
 * JSON says: vLLM and SGLang read the body with pydantic in lax mode, which streams on {@code true},
 * {@code 1}, {@code "true"}, {@code "yes"}, {@code "on"}, … So any value but {@code false},
 * {@code null}, {@code 0} or one of pydantic's false strings means a stream; only the JSON literal
 * {@code true} counts as asking for usage. A repeated {@code stream}, {@code stream_options} or
 * {@code include_usage} key is ambiguous (Python keeps the last, other parsers the first or
 * refuse) and reported as such.
 */
public final class UsageRequest {
    private static final JsonFactory JSON = JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    /** pydantic v2's strings that coerce to False (compared case-insensitively). */
    private static final Set<String> FALSE_STRINGS = Set.of("0", "off", "f", "false", "n", "no");

    private UsageRequest() {
    }

    /** Why the call would stream without reporting usage. */
    public enum Problem {
        /** A streamed chat/completions call without {@code stream_options.include_usage: true}. */
        STREAM_WITHOUT_USAGE,
        /** A key that decides streaming or usage appears twice in one object. */
        AMBIGUOUS_KEY,
        /** The body of a chat/completions call is not JSON: whether it streams cannot be told. */
        NOT_JSON
    }

    /**
     * The problem with an OpenAI-compatible chat/completions request ({@code path} ends with
     * {@code /chat/completions} or {@code /completions}), or empty when its response will report
     * usage or the path is not one of those.
     */
    public static Optional<Problem> check(String method, String path, byte[] body) {
        if (!"POST".equals(method) || !completionsPath(path)) {
            return Optional.empty();
        }
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return Optional.of(Problem.NOT_JSON);
            }
            boolean seenStream = false;
            boolean seenOptions = false;
            boolean stream = false;
            boolean includeUsage = false;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if ("stream".equals(name)) {
                    if (seenStream) {
                        return Optional.of(Problem.AMBIGUOUS_KEY);
                    }
                    seenStream = true;
                    stream = streams(p, v);
                } else if ("stream_options".equals(name)) {
                    if (seenOptions) {
                        return Optional.of(Problem.AMBIGUOUS_KEY);
                    }
                    seenOptions = true;
                    Optional<Boolean> usage = includeUsage(p, v);
                    if (usage.isEmpty()) {
                        return Optional.of(Problem.AMBIGUOUS_KEY);
                    }
                    includeUsage = usage.get();
                } else {
                    p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                return Optional.of(Problem.NOT_JSON); // trailing content: servers refuse it, or read something else
            }
            return stream && !includeUsage ? Optional.of(Problem.STREAM_WITHOUT_USAGE) : Optional.empty();
        } catch (IOException e) {
            return Optional.of(Problem.NOT_JSON);
        }
    }

    static boolean completionsPath(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.endsWith("/completions");
    }

    private static boolean streams(JsonParser p, JsonToken v) throws IOException {
        return switch (v) {
            case VALUE_FALSE, VALUE_NULL -> false;
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getDoubleValue() != 0.0;
            case VALUE_STRING -> !FALSE_STRINGS.contains(p.getText().trim().toLowerCase(Locale.ROOT));
            case START_OBJECT, START_ARRAY -> {
                p.skipChildren();
                yield true; // pydantic refuses it; if anything accepts it, assume a stream
            }
            default -> true;
        };
    }

    /** {@code include_usage} is the literal true; empty when that key is repeated. */
    private static Optional<Boolean> includeUsage(JsonParser p, JsonToken v) throws IOException {
        if (v != JsonToken.START_OBJECT) {
            p.skipChildren();
            return Optional.of(false);
        }
        boolean seen = false;
        boolean value = false;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String name = p.currentName();
            JsonToken x = p.nextToken();
            if ("include_usage".equals(name)) {
                if (seen) {
                    return Optional.empty();
                }
                seen = true;
                value = x == JsonToken.VALUE_TRUE;
            }
            p.skipChildren();
        }
        return Optional.of(value);
    }
}
