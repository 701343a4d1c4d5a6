package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;

import java.util.List;

/**
 * Hugging Face Text Generation Inference (the {@code text-generation-router}): one model per
 * deployment, a native API and an OpenAI-compatible Messages API on the same port.
 *
 * <p>Checked against: TGI v3.3.7 (January 2026), {@code router/src/server.rs} (the axum router:
 * {@code base_routes}, {@code info_routes}, the {@code kserve} and {@code google} features). TGI has
 * no management API: the model is fixed at launch, so its pack only keeps the metrics endpoint off
 * client routes. Paths are case-sensitive (axum); the optional {@code --api-key} guards only the
 * inference routes. The native body is {@code {"inputs": …, "parameters": {…}}}
 * ({@link BodyShape#TGI_GENERATE}); {@code "model"} in a Messages API body is ignored by TGI (the
 * model is the deployment's). Streaming: {@link StreamFormat#SSE_TGI} for {@code /generate_stream}
 * (and {@code /} with {@code "stream": true}), {@link StreamFormat#SSE_OPENAI} for the Messages API.
 */
public final class TgiApi {
    static final List<Endpoint> ENDPOINTS = List.of(
            inference("generate", "POST", "/generate", BodyShape.TGI_GENERATE, ModelSource.DEPLOYMENT, StreamFormat.NONE,
                    "native generation"),
            inference("generate-stream", "POST", "/generate_stream", BodyShape.TGI_GENERATE, ModelSource.DEPLOYMENT,
                    StreamFormat.SSE_TGI, "native streaming generation"),
            inference("compat-generate", "POST", "/", BodyShape.TGI_GENERATE, ModelSource.DEPLOYMENT, StreamFormat.SSE_TGI,
                    "native generation, streaming when the body says \"stream\": true"),
            inference("chat-completions", "POST", "/v1/chat/completions", BodyShape.OPENAI_CHAT, ModelSource.DEPLOYMENT,
                    StreamFormat.SSE_OPENAI, "Messages API"),
            inference("completions", "POST", "/v1/completions", BodyShape.OPENAI_COMPLETIONS, ModelSource.DEPLOYMENT,
                    StreamFormat.SSE_OPENAI, "OpenAI completions"),
            inference("vertex", "POST", "/vertex", BodyShape.NONE, ModelSource.DEPLOYMENT, StreamFormat.NONE,
                    "Vertex AI entry point ({\"instances\": [...]})"),
            inference("invocations", "POST", "/invocations", BodyShape.NONE, ModelSource.DEPLOYMENT, StreamFormat.SSE_TGI,
                    "SageMaker entry point (native or Messages body)"),
            inference("tokenize", "POST", "/tokenize", BodyShape.NONE, ModelSource.DEPLOYMENT, StreamFormat.NONE, "tokenize"),
            inference("chat-tokenize", "POST", "/chat_tokenize", BodyShape.NONE, ModelSource.DEPLOYMENT, StreamFormat.NONE,
                    "renders and tokenizes a chat prompt"),
            free("root", "GET", "/", "liveness"),
            free("health", "GET", "/health", "health (runs a generation when idle)"),
            free("ping", "GET", "/ping", "SageMaker liveness"),
            free("info", "GET", "/info", "model id, revision and limits"),
            free("models", "GET", "/v1/models", "the deployment's model"));

    public static final Pack PACK = new Pack("tgi", 1,
            "TGI v3.3.7 router/src/server.rs",
            List.of(dangerous("metrics", "/metrics", "Prometheus metrics: queue, batch and request statistics; "
                    + "scrape inside the cluster")));

    public static final ApiFamily FAMILY = new ApiFamily("tgi", "TGI v3.3.7 (January 2026)", ENDPOINTS, PACK, false);

    private TgiApi() {
    }
}
