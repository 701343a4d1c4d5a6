package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;
import static io.inferencepam.pam.catalog.Endpoint.info;

import java.util.List;
import java.util.Set;

/**
 * The OpenAI API and what OpenAI-compatible servers (vLLM, SGLang, LiteLLM, TGI's Messages API,
 * Ollama's {@code /v1}) take from it.
 *
 * <p>Checked against: the OpenAI API reference (platform.openai.com/docs/api-reference, 2026:
 * chat, completions, responses, embeddings, moderations, audio, images, models, files, uploads,
 * batches, fine-tuning, vector stores, assistants/threads, conversations, realtime, evals,
 * containers, administration), vLLM {@code docs/usage/security.md} (endpoint list, v0.33 era),
 * SGLang {@code http_server.py} (0.5.x).
 *
 * <p>The model is the body's {@code model} field everywhere, except {@code GET /v1/models/{id}}
 * where it is the rest of the path (ids such as {@code meta-llama/Llama-3.1-8B} contain {@code /};
 * SGLang declares the parameter {@code {model:path}}). Streaming: {@link StreamFormat#SSE_OPENAI}
 * when the body says {@code "stream": true}; the Responses API streams typed events.
 */
public final class OpenAiApi {
    /** The body field every OpenAI-compatible server names the model in. */
    public static final List<String> BODY_MODEL_FIELDS = List.of("model");
    /**
     * Body fields besides {@code model} with which OpenAI-compatible servers pick a model or an
     * adapter: SGLang's {@code lora_path} (used when {@code model} names no adapter), TGI's
     * {@code adapter_id} (top level, or in {@code parameters} on its native API), llama.cpp's
     * {@code lora} (the loaded adapters and their scales, per request) and LiteLLM's
     * {@code user_config} (a model list that remaps {@code model} inside the request). The gateway
     * entitles the {@code model} field only, so a body that sets one of these is refused.
     */
    public static final List<String> BODY_ADAPTER_FIELDS = List.of("lora_path", "adapter_id", "lora", "user_config");
    /** The object in which TGI's native API takes {@code adapter_id}. */
    public static final String PARAMETERS = "parameters";

    public static final Endpoint CHAT = inference("chat-completions", "POST", "/v1/chat/completions",
            BodyShape.OPENAI_CHAT, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI, "chat completion");
    public static final Endpoint COMPLETIONS = inference("completions", "POST", "/v1/completions",
            BodyShape.OPENAI_COMPLETIONS, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI, "text completion (legacy)");
    public static final Endpoint RESPONSES = inference("responses", "POST", "/v1/responses",
            BodyShape.OPENAI_RESPONSES, ModelSource.BODY_MODEL, StreamFormat.SSE_OPENAI_RESPONSES, "Responses API");
    public static final Endpoint EMBEDDINGS = inference("embeddings", "POST", "/v1/embeddings",
            BodyShape.OPENAI_EMBEDDINGS, ModelSource.BODY_MODEL, StreamFormat.NONE, "embeddings");
    public static final Endpoint MODELS = free("models", "GET", "/v1/models", "list the served models");
    public static final Endpoint MODEL = info("model", "GET", "/v1/models/*/**", new ModelSource.PathRest(2),
            "one model's card");

    /** The endpoints every OpenAI-compatible server family shares. */
    public static final List<Endpoint> CORE = List.of(CHAT, COMPLETIONS, RESPONSES, EMBEDDINGS, MODELS, MODEL);

    /** The OpenAI API's own further inference endpoints (LiteLLM proxies them; bodies the policies do not read). */
    static final List<Endpoint> MORE = List.of(
            inference("moderations", "POST", "/v1/moderations", BodyShape.NONE, ModelSource.BODY_MODEL, StreamFormat.NONE,
                    "moderation"),
            inference("audio-transcriptions", "POST", "/v1/audio/transcriptions", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.SSE_OPENAI, "speech to text (multipart)"),
            inference("audio-translations", "POST", "/v1/audio/translations", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "speech to English text (multipart)"),
            inference("audio-speech", "POST", "/v1/audio/speech", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "text to speech"),
            inference("images-generations", "POST", "/v1/images/generations", BodyShape.NONE, ModelSource.BODY_MODEL,
                    StreamFormat.NONE, "image generation"));

    private static final Set<String> READ_DELETE = Set.of("GET", "DELETE");

    public static final Pack PACK = new Pack("openai", 1,
            "OpenAI API reference 2026; the same paths on vLLM (files), LiteLLM (files, batches, fine-tuning, "
                    + "assistants), SGLang and vLLM (stored responses)",
            List.of(
                    dangerous("files", "/v1/files/**", "uploads, lists, reads or deletes files stored on the server: "
                            + "data enters and leaves outside the per-call policies, and every caller of the upstream "
                            + "key shares them"),
                    dangerous("uploads", "/v1/uploads/**", "multi-part file uploads (files stored on the server)"),
                    dangerous("batches", "/v1/batches/**", "runs many requests from a stored file outside this "
                            + "gateway's per-call policies and audit"),
                    dangerous("fine-tuning", "/v1/fine_tuning/**", "trains a new model on uploaded data "
                            + "(data leaves, a model nobody reviewed appears, cost)"),
                    dangerous("vector-stores", "/v1/vector_stores/**", "stores documents server-side, shared by "
                            + "every caller of the upstream key"),
                    dangerous("assistants", "/v1/assistants/**", "server-side assistants with stored instructions "
                            + "and files, shared by every caller of the upstream key"),
                    dangerous("threads", "/v1/threads/**", "server-side conversation threads and runs, shared by "
                            + "every caller of the upstream key"),
                    dangerous("conversations", "/v1/conversations/**", "server-side conversations, shared by every "
                            + "caller of the upstream key"),
                    dangerous("stored-chat-completions", READ_DELETE, "/v1/chat/completions/**", "lists, reads or "
                            + "deletes stored chat completions: the server does not bind them to the caller"),
                    dangerous("stored-responses", READ_DELETE, "/v1/responses/**", "reads or deletes a stored "
                            + "response by id: the server does not bind it to the caller"),
                    dangerous("cancel-response", Set.of("POST"), "/v1/responses/*/cancel", "cancels a background "
                            + "response by id, whoever started it"),
                    dangerous("realtime", "/v1/realtime/**", "mints client secrets for the upstream key, or opens a "
                            + "WebSocket session whose messages this gateway does not inspect"),
                    dangerous("organization-admin", "/v1/organization/**", "administration API: keys, users, "
                            + "projects, audit logs, usage"),
                    dangerous("delete-model", Set.of("DELETE"), "/v1/models/**", "deletes a fine-tuned model"),
                    dangerous("evals", "/v1/evals/**", "runs evaluations over stored data outside the per-call path"),
                    dangerous("containers", "/v1/containers/**", "code-interpreter containers and their files")));

    /** Plain OpenAI-compatible servers (LiteLLM, any OpenAI-compatible API). */
    public static final ApiFamily FAMILY = new ApiFamily("openai",
            "OpenAI API reference 2026; OpenAI-compatible servers' common subset", concat(CORE, MORE), PACK, false);

    private OpenAiApi() {
    }

    @SafeVarargs
    static List<Endpoint> concat(List<Endpoint>... lists) {
        java.util.ArrayList<Endpoint> out = new java.util.ArrayList<>();
        for (List<Endpoint> l : lists) {
            out.addAll(l);
        }
        return List.copyOf(out);
    }
}
