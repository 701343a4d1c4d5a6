package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;

import java.util.List;

/**
 * SGLang's HTTP server ({@code python -m sglang.launch_server}): the OpenAI core, SGLang's native
 * API and a large set of runtime-control endpoints (weight updates, adapters, caches, memory,
 * profiling) that share the port with inference.
 *
 * <p>Checked against: SGLang {@code python/sglang/srt/entrypoints/http_server.py} (0.5.x line,
 * late 2025). Most control routes accept GET as well as POST ({@code api_route(..., methods=["GET",
 * "POST"])}), so the pack denies them for every method. Paths are case-sensitive (Starlette). The
 * native {@code /generate} body ({@code text}, {@code sampling_params}) is not a shape the policies
 * read. Streaming: {@link StreamFormat#SSE_OPENAI} ({@code data: {json}} … {@code data: [DONE]}),
 * also for the native {@code /generate}.
 */
public final class SglangApi {
    static final List<Endpoint> EXTRA = List.of(
            inference("generate", "POST", "/generate", BodyShape.NONE, ModelSource.NONE, StreamFormat.SSE_OPENAI,
                    "native generation (text / input_ids, sampling_params)"),
            inference("encode", "POST", "/encode", BodyShape.NONE, ModelSource.NONE, StreamFormat.NONE, "native embedding"),
            inference("classify", "POST", "/classify", BodyShape.NONE, ModelSource.NONE, StreamFormat.NONE,
                    "native reward/classification"),
            inference("v1-classify", "POST", "/v1/classify", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "classification"),
            inference("v1-score", "POST", "/v1/score", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE, "scoring"),
            inference("v1-rerank", "POST", "/v1/rerank", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE, "reranking"),
            inference("v1-tokenize", "POST", "/v1/tokenize", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE, "tokenize"),
            inference("v1-detokenize", "POST", "/v1/detokenize", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "detokenize"),
            inference("invocations", "POST", "/invocations", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI,
                    "SageMaker chat completion"),
            free("health", "GET", "/health", "liveness (runs a one-token generation)"),
            free("health-generate", "GET", "/health_generate", "liveness (runs a one-token generation)"),
            free("ping", "GET", "/ping", "SageMaker liveness"),
            free("model-info", "GET", "/get_model_info", "model path and generation flag"));

    public static final Pack PACK = new Pack("sglang", 1,
            "SGLang python/sglang/srt/entrypoints/http_server.py (0.5.x, late 2025)",
            List.of(
                    dangerous("update-weights-from-disk", "/update_weights_from_disk", "replaces the model weights "
                            + "with files from a server path"),
                    dangerous("update-weights-from-tensor", "/update_weights_from_tensor", "replaces weights with "
                            + "caller-supplied tensors"),
                    dangerous("update-weights-from-distributed", "/update_weights_from_distributed", "replaces "
                            + "weights from a distributed group"),
                    dangerous("update-weights-from-ipc", "/update_weights_from_ipc", "replaces weights over IPC"),
                    dangerous("init-weights-update-group", "/init_weights_update_group", "joins the engine to a "
                            + "caller-named torch.distributed group"),
                    dangerous("destroy-weights-update-group", "/destroy_weights_update_group", "weight-update group "
                            + "control"),
                    dangerous("init-weights-send-group", "/init_weights_send_group_for_remote_instance", "opens a "
                            + "channel that sends the weights to a remote instance"),
                    dangerous("send-weights-to-remote", "/send_weights_to_remote_instance", "sends the model weights "
                            + "to a caller-named remote instance (weight exfiltration)"),
                    dangerous("get-weights-by-name", "/get_weights_by_name", "returns model parameters (weight "
                            + "exfiltration)"),
                    dangerous("update-weight-version", "/update_weight_version", "rewrites the reported weight "
                            + "version and can abort every request"),
                    dangerous("load-lora-adapter", "/load_lora_adapter", "loads LoRA adapter weights into the "
                            + "serving process"),
                    dangerous("unload-lora-adapter", "/unload_lora_adapter", "unloads a LoRA adapter other callers use"),
                    dangerous("flush-cache", "/flush_cache", "drops the radix cache"),
                    dangerous("clear-hicache", "/clear_hicache_storage_backend", "clears the hierarchical cache storage"),
                    dangerous("start-profile", "/start_profile", "starts the profiler: writes traces to a "
                            + "caller-chosen server directory"),
                    dangerous("stop-profile", "/stop_profile", "stops the profiler"),
                    dangerous("freeze-gc", "/freeze_gc", "changes the server's garbage collection"),
                    dangerous("expert-distribution", "/*_expert_distribution_record", "starts, stops or dumps the "
                            + "expert distribution record"),
                    dangerous("release-memory", "/release_memory_occupation", "releases GPU memory: stops serving"),
                    dangerous("resume-memory", "/resume_memory_occupation", "re-occupies GPU memory"),
                    dangerous("slow-down", "/slow_down", "deliberately slows the server (testing only)"),
                    dangerous("set-internal-state", "/set_internal_state", "changes server arguments at run time"),
                    dangerous("configure-logging", "/configure_logging", "changes request logging (can write "
                            + "every prompt to the server's logs)"),
                    dangerous("abort-request", "/abort_request", "aborts any request in flight, or all of them"),
                    dangerous("pause-generation", "/pause_generation", "pauses generation for every caller"),
                    dangerous("continue-generation", "/continue_generation", "resumes generation: server state change"),
                    dangerous("open-session", "/open_session", "opens a server-side session"),
                    dangerous("close-session", "/close_session", "closes a server-side session by id, whoever opened it"),
                    dangerous("server-info", "/get_server_info", "discloses every server argument and internal state"),
                    dangerous("generate-from-file", "/generate_from_file", "generation from an uploaded embeddings "
                            + "file, outside the policies' reach"),
                    dangerous("metrics", "/metrics", "Prometheus metrics; scrape inside the cluster")));

    public static final ApiFamily FAMILY = new ApiFamily("sglang",
            "SGLang 0.5.x http_server.py (late 2025)", OpenAiApi.concat(EXTRA, OpenAiApi.CORE), PACK, false);

    private SglangApi() {
    }
}
