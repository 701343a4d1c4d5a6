package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;
import static io.inferencepam.pam.catalog.Endpoint.info;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Ollama's native API and its OpenAI/Anthropic-compatible routes.
 *
 * <p>Checked against: Ollama v0.33.0-rc2 (2026) {@code server/routes.go} ({@code GenerateRoutes}),
 * {@code api/types.go}. The router is gin 1.10 with its defaults: paths are case-sensitive
 * ({@code RedirectFixedPath} is off), a trailing {@code /} is redirected (307 for POST) to the path
 * without it; the outer {@code http.DefaultServeMux} cleans {@code //} and dot segments with a 301,
 * and, because Ollama serves on the default mux, also answers {@code /debug/pprof/*}.
 *
 * <p>The model is the body's {@code model} field; older clients send {@code name} (both present
 * must agree). Go's {@code encoding/json} matches member names case-insensitively and the last
 * match wins ({@code {"model":"a","MODEL":"b"}} is served as {@code b}), which pam-auth and
 * pam-guard refuse. {@code /api/copy} names {@code source} and {@code destination};
 * {@code /api/create} names the new model and its bases ({@code from}, Modelfile {@code FROM}).
 * Streaming: {@link StreamFormat#NDJSON_OLLAMA} on {@code /api/*} unless {@code "stream": false};
 * {@link StreamFormat#SSE_OPENAI} on {@code /v1/*}.
 */
public final class OllamaApi {
    /** Body fields that name the model, in the order Ollama's handlers prefer them. */
    public static final List<String> BODY_MODEL_FIELDS = List.of("model", "name");
    private static final ModelSource BODY = new ModelSource.BodyFields(BODY_MODEL_FIELDS);

    public static final Endpoint PULL = dangerous("pull", "/api/pull", "downloads model weights from a registry "
            + "(any registry the server can reach) onto the server");
    public static final Endpoint PUSH = dangerous("push", "/api/push", "uploads a local model to a registry "
            + "(model exfiltration)");
    public static final Endpoint CREATE = dangerous("create", "/api/create", "creates a model from a Modelfile, "
            + "blobs or another model (new weights, system prompt or template)");
    public static final Endpoint COPY = dangerous("copy", "/api/copy", "copies a model under a new name "
            + "(can shadow a name other callers use)");
    public static final Endpoint DELETE = dangerous("delete", "/api/delete", "deletes a model from the server");
    public static final Endpoint BLOBS = dangerous("blobs", "/api/blobs/**", "uploads or probes weight blobs "
            + "(the first step of creating a model)");

    /** The model list ({@code {"models": [{"name", "model", …}]}}). */
    public static final Endpoint TAGS = free("tags", "GET", "/api/tags", "list local models");

    /** Endpoints that change which models exist on the server (pam-auth's {@code ollama_management}). */
    public static final List<Endpoint> MODEL_MANAGEMENT = List.of(CREATE, COPY, PULL, PUSH, DELETE, BLOBS);

    static final List<Endpoint> ENDPOINTS = List.of(
            inference("chat", "POST", "/api/chat", BodyShape.OLLAMA_CHAT, BODY, StreamFormat.NDJSON_OLLAMA, "chat"),
            inference("generate", "POST", "/api/generate", BodyShape.OLLAMA_GENERATE, BODY, StreamFormat.NDJSON_OLLAMA,
                    "generation"),
            inference("embed", "POST", "/api/embed", BodyShape.OLLAMA_EMBED, BODY, StreamFormat.NONE, "embeddings"),
            inference("embeddings", "POST", "/api/embeddings", BodyShape.OLLAMA_EMBED, BODY, StreamFormat.NONE,
                    "embeddings (legacy)"),
            inference("v1-chat-completions", "POST", "/v1/chat/completions", BodyShape.OPENAI_CHAT, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "OpenAI-compatible chat"),
            inference("v1-completions", "POST", "/v1/completions", BodyShape.OPENAI_COMPLETIONS, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "OpenAI-compatible completions"),
            inference("v1-embeddings", "POST", "/v1/embeddings", BodyShape.OPENAI_EMBEDDINGS, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "OpenAI-compatible embeddings"),
            inference("v1-responses", "POST", "/v1/responses", BodyShape.OPENAI_RESPONSES, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI_RESPONSES, "OpenAI-compatible Responses API"),
            inference("v1-messages", "POST", "/v1/messages", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI,
                    "Anthropic-compatible messages"),
            inference("v1-audio-transcriptions", "POST", "/v1/audio/transcriptions", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "OpenAI-compatible transcription"),
            info("show", "POST", "/api/show", BODY, "model details: Modelfile, template, parameters, license"),
            info("v1-model", "GET", "/v1/models/*/**", new ModelSource.PathRest(2), "OpenAI-compatible model card"),
            TAGS,
            free("ps", "GET", "/api/ps", "list loaded models"),
            free("version", "GET", "/api/version", "server version"),
            free("status", "GET", "/api/status", "cloud status"),
            free("root", "GET", "/", "liveness"),
            free("v1-models", "GET", "/v1/models", "OpenAI-compatible model list"));

    public static final Pack PACK = new Pack("ollama", 1,
            "Ollama v0.33.0-rc2 server/routes.go",
            List.of(PULL, PUSH, CREATE, COPY, DELETE, BLOBS,
                    dangerous("account-me", "/api/me", "the server's ollama.com account"),
                    dangerous("signout", "/api/signout", "signs the server out of its ollama.com account"),
                    dangerous("user-keys", "/api/user/**", "removes the server's ollama.com key (deprecated signout)"),
                    dangerous("web-search", Set.of("*"), "/api/experimental/web_search", "searches the web through "
                            + "the server's ollama.com account (outbound calls, cost)"),
                    dangerous("web-fetch", Set.of("*"), "/api/experimental/web_fetch", "fetches a caller-chosen URL "
                            + "through the server's ollama.com account"),
                    dangerous("pprof", "/debug/pprof/**", "Go runtime profiling on the default mux: heap dumps, "
                            + "command line, CPU profiles that stall the server")));

    public static final ApiFamily FAMILY = new ApiFamily("ollama", "Ollama v0.33.0-rc2 (2026)", ENDPOINTS, PACK, false);

    private OllamaApi() {
    }

    /**
     * A model-management endpoint ({@code /api/create}, {@code /api/copy}, {@code /api/pull},
     * {@code /api/push}, {@code /api/delete}, {@code /api/blobs/*}), matched the lenient way
     * pam-auth always did (any letter case, repeated and trailing slashes ignored) so that no
     * spelling of them passes as an inference call.
     */
    public static boolean isModelManagement(String path) {
        String[] key = routeKey(path);
        for (Endpoint e : MODEL_MANAGEMENT) {
            if (e.path().matchesIgnoringCase(key)) {
                return true;
            }
        }
        return false;
    }

    /** {@code /api/blobs} or below, matched like {@link #isModelManagement}. */
    public static boolean isBlobs(String path) {
        return BLOBS.path().matchesIgnoringCase(routeKey(path));
    }

    public static boolean isCreate(String path) {
        return CREATE.path().matchesIgnoringCase(routeKey(path));
    }

    public static boolean isCopy(String path) {
        return COPY.path().matchesIgnoringCase(routeKey(path));
    }

    /** The path's segments as a lenient router would see them: lower case, no empty segments. */
    private static String[] routeKey(String path) {
        String[] s = PathPattern.segments(path.toLowerCase(Locale.ROOT));
        int n = 0;
        for (String seg : s) {
            if (!seg.isEmpty()) {
                s[n++] = seg;
            }
        }
        return n == s.length ? s : java.util.Arrays.copyOf(s, n);
    }
}
