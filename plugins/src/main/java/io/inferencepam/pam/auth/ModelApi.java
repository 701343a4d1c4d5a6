package io.inferencepam.pam.auth;

import io.inferencepam.pam.catalog.OllamaApi;
import io.inferencepam.pam.catalog.OpenAiApi;
import java.util.List;

/**
 * How the model server behind a route names the model a request is for (pam-auth's {@code api}).
 * Each value reads its family's conventions from the API catalogue ({@code io.inferencepam.pam.catalog}).
 */
public enum ModelApi {
    /** OpenAI-compatible (vLLM, SGLang, LiteLLM, TGI messages API…): JSON body field {@code model}. */
    OPENAI,
    /** Ollama native API: JSON body field {@code model} (older clients send {@code name}). */
    OLLAMA,
    /** KServe v2 / Triton: {@code /v2/models/{name}[/versions/{v}]/...}. */
    KSERVE,
    /** One model per route (e.g. a TGI deployment): the name comes from the conf. */
    FIXED;

    /** The top-level body fields that name the model ({@link OpenAiApi#BODY_MODEL_FIELDS}, {@link OllamaApi#BODY_MODEL_FIELDS}). */
    List<String> bodyModelFields() {
        return this == OLLAMA ? OllamaApi.BODY_MODEL_FIELDS : OpenAiApi.BODY_MODEL_FIELDS;
    }

    /** Body fields that select a model or adapter besides the model field ({@link OpenAiApi#BODY_ADAPTER_FIELDS}). */
    List<String> bodyAdapterFields() {
        return this == OLLAMA ? List.of() : OpenAiApi.BODY_ADAPTER_FIELDS;
    }
}
