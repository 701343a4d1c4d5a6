package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;
import static io.inferencepam.pam.catalog.Endpoint.info;

import java.util.List;
import java.util.Optional;

/**
 * The KServe Open Inference Protocol (v2) as served by NVIDIA Triton and KServe's Python model
 * server, plus KServe's v1 protocol and its OpenAI-compatible runtime paths.
 *
 * <p>Checked against: Triton Inference Server v2.71.0 {@code src/http_server.cc} (its RE2 route
 * table: {@code model_regex_}, {@code modelcontrol_regex_}, the shared-memory, trace and logging
 * routes), KServe 0.2x {@code python/kserve/kserve/protocol/rest} (v1, v2 and the model repository
 * extension {@code /v2/repository/models/{name}/load|unload}) and its {@code /openai/v1} routes.
 *
 * <p>The model is the path segment after {@code /v2/models/} (Triton: {@code [^/]+}, matched on
 * the raw path, case-sensitive). {@code /v2/models/{name}/infer} bodies are tensors
 * ({@link BodyShape#KSERVE_INFER}); Triton's generate extension takes {@code text_input} and
 * parameters, a shape the policies do not read. Streaming: only
 * {@code generate_stream} ({@link StreamFormat#SSE_TRITON_GENERATE}).
 */
public final class KServeApi {
    /** Where v2 paths name the model: {@code /v2/models/{name}[/versions/{v}][/...]}. */
    public static final String MODELS_PREFIX = "/v2/models/";
    private static final ModelSource V2_MODEL = new ModelSource.PathSegment(2);

    /** KServe's OpenAI-compatible model list (OpenAI list shape). */
    public static final Endpoint OPENAI_MODELS = free("openai-models", "GET", "/openai/v1/models",
            "KServe OpenAI-compatible model list");

    static final List<Endpoint> ENDPOINTS = List.of(
            inference("infer", "POST", "/v2/models/*/infer", BodyShape.KSERVE_INFER, V2_MODEL, StreamFormat.NONE, "inference"),
            inference("infer-version", "POST", "/v2/models/*/versions/*/infer", BodyShape.KSERVE_INFER, V2_MODEL,
                    StreamFormat.NONE, "inference on one model version"),
            inference("generate", "POST", "/v2/models/*/generate", BodyShape.NONE, V2_MODEL, StreamFormat.NONE,
                    "Triton generate extension"),
            inference("generate-version", "POST", "/v2/models/*/versions/*/generate", BodyShape.NONE, V2_MODEL,
                    StreamFormat.NONE, "Triton generate extension, one version"),
            inference("generate-stream", "POST", "/v2/models/*/generate_stream", BodyShape.NONE, V2_MODEL,
                    StreamFormat.SSE_TRITON_GENERATE, "Triton generate extension, streaming"),
            inference("generate-stream-version", "POST", "/v2/models/*/versions/*/generate_stream", BodyShape.NONE,
                    V2_MODEL, StreamFormat.SSE_TRITON_GENERATE, "Triton generate extension, streaming, one version"),
            inference("v1-predict", "POST", "/v1/models/*:predict", BodyShape.NONE,
                    new ModelSource.PathSegmentBefore(2, ":"), StreamFormat.NONE, "KServe v1 prediction"),
            inference("openai-chat", "POST", "/openai/v1/chat/completions", BodyShape.OPENAI_CHAT, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "KServe OpenAI-compatible chat"),
            inference("openai-completions", "POST", "/openai/v1/completions", BodyShape.OPENAI_COMPLETIONS,
                    ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI, "KServe OpenAI-compatible completions"),
            inference("openai-embeddings", "POST", "/openai/v1/embeddings", BodyShape.OPENAI_EMBEDDINGS,
                    ModelSource.BODY_MODEL, StreamFormat.NONE, "KServe OpenAI-compatible embeddings"),
            info("metadata", "GET", "/v2/models/*", V2_MODEL, "model metadata"),
            info("metadata-version", "GET", "/v2/models/*/versions/*", V2_MODEL, "model version metadata"),
            info("ready", "GET", "/v2/models/*/ready", V2_MODEL, "model readiness"),
            info("ready-version", "GET", "/v2/models/*/versions/*/ready", V2_MODEL, "model version readiness"),
            info("config", "GET", "/v2/models/*/config", V2_MODEL, "Triton model configuration"),
            info("config-version", "GET", "/v2/models/*/versions/*/config", V2_MODEL, "Triton model configuration"),
            info("stats", "GET", "/v2/models/*/stats", V2_MODEL, "Triton per-model statistics"),
            info("v1-model", "GET", "/v1/models/*", new ModelSource.PathSegment(2), "KServe v1 model readiness"),
            free("server-metadata", "GET", "/v2", "server metadata"),
            free("live", "GET", "/v2/health/live", "liveness"),
            free("ready-server", "GET", "/v2/health/ready", "readiness"),
            free("v1-models", "GET", "/v1/models", "KServe v1 model list"),
            OPENAI_MODELS);

    public static final Pack PACK = new Pack("kserve", 2,
            "Triton v2.71.0 src/http_server.cc; KServe 0.2x python model server (model repository extension)",
            List.of(
                    dangerous("repository", "/v2/repository/**", "lists every model in the repository, or loads "
                            + "and unloads models (a load can carry a new config and model files: code the server "
                            + "runs)"),
                    dangerous("system-shared-memory", "/v2/systemsharedmemory/**", "registers host shared-memory "
                            + "regions the server then reads inputs from and writes outputs to"),
                    dangerous("cuda-shared-memory", "/v2/cudasharedmemory/**", "registers CUDA memory regions the "
                            + "server then reads and writes"),
                    dangerous("trace-setting", "/v2/trace/setting", "changes trace level, rate and file (the "
                            + "server writes request traces to a caller-chosen path)"),
                    dangerous("model-trace-setting", "/v2/models/*/trace/setting", "changes one model's trace "
                            + "settings and file"),
                    // Triton's model route takes an optional /versions/{v} before any of its suffixes
                    dangerous("model-version-trace-setting", "/v2/models/*/versions/*/trace/setting", "changes one "
                            + "model's trace settings and file (versioned spelling)"),
                    dangerous("logging", "/v2/logging", "changes log verbosity and the log file"),
                    dangerous("all-model-stats", "/v2/models/stats", "statistics of every model on the server"),
                    dangerous("metrics", "/metrics", "Prometheus metrics (GPU, per-model counters); scrape inside "
                            + "the cluster")));

    public static final ApiFamily FAMILY = new ApiFamily("kserve",
            "Triton v2.71.0 (2026), KServe 0.2x python model server", ENDPOINTS, PACK, false);

    private KServeApi() {
    }

    /**
     * The model a v2 path names: {@code /v2/models/{name}} or {@code /v2/models/{name}/...}
     * (incl. {@code /versions/{v}/...}); empty when the path does not start with
     * {@link #MODELS_PREFIX} (case-sensitive, as Triton matches) or names no model.
     */
    public static Optional<String> modelFromPath(String path) {
        if (!path.startsWith(MODELS_PREFIX)) {
            return Optional.empty();
        }
        int end = path.indexOf('/', MODELS_PREFIX.length());
        String name = end < 0 ? path.substring(MODELS_PREFIX.length()) : path.substring(MODELS_PREFIX.length(), end);
        return name.isEmpty() ? Optional.empty() : Optional.of(name);
    }
}
