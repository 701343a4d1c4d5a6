package io.inferencepam.pam.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.KServeApi;
import io.inferencepam.pam.catalog.OllamaApi;
import io.inferencepam.pam.catalog.OpenAiApi;
import io.inferencepam.pam.catalog.PathPattern;
import java.io.IOException;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Cuts a model server's model list down to the models the caller is entitled to: OpenAI's
 * {@code GET /v1/models} ({@code {"data": [{"id": …}]}}, also Ollama's and KServe's
 * {@code /openai/v1/models}) and Ollama's {@code GET /api/tags} ({@code {"models": [{"name", "model"}]}}).
 * Which paths are lists comes from the API catalogue. A list that does not have the expected shape
 * is not passed through: it cannot be filtered.
 */
final class ModelListFilter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The list shapes. */
    enum Kind {
        /** {@code {"object": "list", "data": [{"id": "m", …}]}} */
        OPENAI_LIST,
        /** {@code {"models": [{"name": "llama3:latest", "model": "llama3:latest", …}]}} */
        OLLAMA_TAGS
    }

    /** @param kept entries left, of {@code total} */
    record Filtered(byte[] body, int kept, int total) {
    }

    private ModelListFilter() {
    }

    /** The list a request asks for, if it is one ({@code GET} only: a {@code HEAD} answer has no list to filter). */
    static Optional<Kind> kindOf(String method, String path) {
        if (!"GET".equals(method)) {
            return Optional.empty();
        }
        String[] segments = PathPattern.segments(path);
        if (lists(OpenAiApi.MODELS, method, segments) || lists(KServeApi.OPENAI_MODELS, method, segments)) {
            return Optional.of(Kind.OPENAI_LIST);
        }
        if (lists(OllamaApi.TAGS, method, segments)) {
            return Optional.of(Kind.OLLAMA_TAGS);
        }
        return Optional.empty();
    }

    private static boolean lists(Endpoint e, String method, String[] segments) {
        return e.acceptsMethod(method) && e.path().matches(segments);
    }

    /**
     * The list with only the entries whose every name {@code allowed} accepts; empty when the body
     * is not a list of that shape (then nothing of it may reach the caller).
     */
    static Optional<Filtered> filter(Kind kind, byte[] body, Predicate<String> allowed) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            return Optional.empty();
        }
        String member = kind == Kind.OPENAI_LIST ? "data" : "models";
        if (!(root instanceof ObjectNode obj) || !(obj.get(member) instanceof ArrayNode entries)) {
            return Optional.empty();
        }
        ArrayNode kept = obj.arrayNode();
        for (JsonNode entry : entries) {
            if (entitled(kind, entry, allowed)) {
                kept.add(entry);
            }
        }
        obj.set(member, kept);
        try {
            return Optional.of(new Filtered(JSON.writeValueAsBytes(obj), kept.size(), entries.size()));
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }

    /** Every name the entry gives must be entitled, and it must give at least one. */
    private static boolean entitled(Kind kind, JsonNode entry, Predicate<String> allowed) {
        String[] fields = kind == Kind.OPENAI_LIST ? new String[] {"id"} : new String[] {"name", "model"};
        boolean named = false;
        for (String f : fields) {
            JsonNode v = entry.get(f);
            if (v == null) {
                continue;
            }
            if (!v.isTextual() || !allowed.test(v.asText())) {
                return false;
            }
            named = true;
        }
        return named;
    }
}
