package io.inferencepam.pam.auth;

/** How the model server behind a route names the model a request is for. */
public enum ModelApi {
    /** OpenAI-compatible (vLLM, SGLang, LiteLLM, TGI messages API…): JSON body field {@code model}. */
    OPENAI,
    /** Ollama native API: JSON body field {@code model} (older clients send {@code name}). */
    OLLAMA,
    /** KServe v2 / Triton: {@code /v2/models/{name}[/versions/{v}]/...}. */
    KSERVE,
    /** One model per route (e.g. a TGI deployment): the name comes from the conf. */
    FIXED
}
