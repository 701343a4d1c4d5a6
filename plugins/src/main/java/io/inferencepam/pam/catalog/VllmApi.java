package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;

import java.util.List;

/**
 * vLLM's OpenAI-compatible server ({@code vllm serve}): the OpenAI core plus vLLM's own inference
 * endpoints, and its admin, development and profiling endpoints.
 *
 * <p>Checked against: vLLM {@code docs/usage/security.md} ("API Key Authentication Limitations",
 * which lists every route of the server and which ones {@code --api-key} leaves open), main branch
 * of the v0.33 release line (2026), and the routers under {@code vllm/entrypoints/serve/}
 * ({@code lora}, {@code dev} (sleep, rpc, cache), {@code elastic_ep}, {@code profile}, {@code pause},
 * {@code rlhf}, {@code tokenize}, {@code instrumentator}). vLLM's {@code --api-key} guards only the
 * {@code /v1}, {@code /v2}, {@code /inference} prefixes: everything else on the port is open to
 * whoever reaches it, which is why the gateway must refuse it.
 *
 * <p>The model is the body's {@code model} field (FastAPI/pydantic: case-sensitive keys, last
 * duplicate wins, which pam-auth and pam-guard refuse anyway). Paths are case-sensitive (Starlette);
 * a trailing {@code /} is redirected (307) to the path without it. Streaming: {@link StreamFormat#SSE_OPENAI}.
 */
public final class VllmApi {
    private static final String OPEN = "vLLM serves it without checking --api-key";

    /** vLLM's inference endpoints beyond the OpenAI core; their bodies are not a shape the policies read. */
    static final List<Endpoint> EXTRA = List.of(
            inference("messages", "POST", "/v1/messages", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI,
                    "Anthropic-compatible messages"),
            inference("messages-count-tokens", "POST", "/v1/messages/count_tokens", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "Anthropic-compatible token count"),
            inference("chat-render", "POST", "/v1/chat/completions/render", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "renders a chat prompt without generating"),
            inference("completions-render", "POST", "/v1/completions/render", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "renders a completion prompt without generating"),
            inference("chat-batch", "POST", "/v1/chat/completions/batch", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "several chat completions in one call"),
            inference("audio-transcriptions", "POST", "/v1/audio/transcriptions", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "speech to text (multipart)"),
            inference("audio-translations", "POST", "/v1/audio/translations", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "speech to English text (multipart)"),
            inference("v1-score", "POST", "/v1/score", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE, "scoring"),
            inference("v1-rerank", "POST", "/v1/rerank", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE, "reranking"),
            inference("v2-rerank", "POST", "/v2/rerank", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "Cohere-compatible reranking"),
            inference("v2-embed", "POST", "/v2/embed", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "Cohere-compatible embeddings"),
            inference("generate-tokens", "POST", "/inference/v1/generate", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "token-in token-out generation"),
            inference("score", "POST", "/score", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "scoring; " + OPEN),
            inference("rerank", "POST", "/rerank", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "reranking; " + OPEN),
            inference("pooling", "POST", "/pooling", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "pooling; " + OPEN),
            inference("classify", "POST", "/classify", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "classification; " + OPEN),
            inference("generative-scoring", "POST", "/generative_scoring", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "generative scoring; " + OPEN),
            inference("invocations", "POST", "/invocations", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "SageMaker entry point: dispatches to chat, completions, embeddings… by "
                            + "body shape; " + OPEN),
            inference("tokenize", "POST", "/tokenize", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "tokenizes text; " + OPEN),
            inference("detokenize", "POST", "/detokenize", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "detokenizes ids; " + OPEN),
            free("health", "GET", "/health", "liveness"),
            free("ping", "GET", "/ping", "SageMaker liveness"),
            free("version", "GET", "/version", "server version"),
            free("load", "GET", "/load", "number of requests in flight"));

    public static final Pack PACK = new Pack("vllm", 1,
            "vLLM docs/usage/security.md (v0.33 line, 2026) and vllm/entrypoints/serve routers",
            List.of(
                    dangerous("load-lora-adapter", "/v1/load_lora_adapter", "loads LoRA adapter weights from a path "
                            + "or hub repository into the serving process: changes what the model answers for every "
                            + "caller, and reads files the server can reach"),
                    dangerous("unload-lora-adapter", "/v1/unload_lora_adapter", "unloads a LoRA adapter other callers "
                            + "are using"),
                    dangerous("collective-rpc", "/collective_rpc", "calls any engine worker method by name with "
                            + "caller-chosen arguments (vLLM: \"extremely dangerous\")"),
                    dangerous("reset-prefix-cache", "/reset_prefix_cache", "drops the prefix cache: disrupts service "
                            + "and enables cache-timing probes of other callers' prompts"),
                    dangerous("reset-mm-cache", "/reset_mm_cache", "drops the multimodal cache: disrupts service"),
                    dangerous("reset-encoder-cache", "/reset_encoder_cache", "drops the encoder cache: disrupts service"),
                    dangerous("sleep", "/sleep", "offloads the weights and stops serving (denial of service)"),
                    dangerous("wake-up", "/wake_up", "reloads weights into GPU memory: server state change"),
                    dangerous("is-sleeping", "/is_sleeping", "development endpoint: server state"),
                    dangerous("pause", "/pause", "pauses generation for every caller (denial of service)"),
                    dangerous("resume", "/resume", "resumes generation: server state change"),
                    dangerous("is-paused", "/is_paused", "operational control endpoint: server state"),
                    dangerous("start-profile", "/start_profile", "starts the torch profiler: writes traces to the "
                            + "server's disk and slows every call"),
                    dangerous("stop-profile", "/stop_profile", "stops the profiler and writes its trace"),
                    dangerous("scale-elastic-ep", "/scale_elastic_ep", "rescales expert parallelism: reconfigures "
                            + "the serving cluster"),
                    dangerous("is-scaling-elastic-ep", "/is_scaling_elastic_ep", "operational control endpoint: "
                            + "cluster state"),
                    dangerous("init-weight-transfer-engine", "/init_weight_transfer_engine", "opens a weight-transfer "
                            + "channel into the engine (RLHF)"),
                    dangerous("update-weights", "/update_weights", "replaces the model weights in place"),
                    dangerous("get-world-size", "/get_world_size", "discloses the distributed topology"),
                    dangerous("abort-requests", "/abort_requests", "aborts other callers' requests in flight"),
                    dangerous("reconfigure", "/reconfigure", "changes scheduler limits (max_num_seqs, batch tokens)"),
                    dangerous("server-info", "/server_info", "discloses the full server configuration"),
                    dangerous("tokenizer-info", "/tokenizer_info", "discloses the chat template and tokenizer "
                            + "configuration (prompt engineering)"),
                    dangerous("metrics", "/metrics", "Prometheus metrics: model and adapter names, load, request "
                            + "statistics; scrape it inside the cluster, not through a client route")));

    public static final ApiFamily FAMILY = new ApiFamily("vllm",
            "vLLM v0.33 line (2026): docs/usage/security.md, vllm/entrypoints routers",
            OpenAiApi.concat(EXTRA, OpenAiApi.CORE), PACK, false);

    private VllmApi() {
    }
}
