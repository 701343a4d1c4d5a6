package io.inferencepam.pam.catalog;

/**
 * The shape of an inference request body: where the text the model will see and the generation
 * parameters live. The API catalogue maps each inference endpoint of a server family to one shape;
 * the code that reads prompts and parameters (pam-guard) knows each shape's fields, once.
 */
public enum BodyShape {
    /** OpenAI {@code /v1/chat/completions} (vLLM, SGLang, LiteLLM, TGI Messages API): {@code messages[]}. */
    OPENAI_CHAT,
    /** OpenAI {@code /v1/completions} (legacy): {@code prompt} (string or array), {@code echo}, {@code best_of}. */
    OPENAI_COMPLETIONS,
    /** OpenAI {@code /v1/responses}: {@code input} (string or items), {@code instructions}. */
    OPENAI_RESPONSES,
    /** OpenAI {@code /v1/embeddings}: {@code input}; no generation parameters. */
    OPENAI_EMBEDDINGS,
    /** Ollama {@code /api/chat}: {@code messages[]}, parameters under {@code options}; streams unless {@code stream:false}. */
    OLLAMA_CHAT,
    /** Ollama {@code /api/generate}: {@code prompt}, {@code system}, parameters under {@code options}. */
    OLLAMA_GENERATE,
    /** Ollama {@code /api/embed}, {@code /api/embeddings}: {@code input} / {@code prompt}. */
    OLLAMA_EMBED,
    /** TGI native {@code /generate}, {@code /generate_stream}, {@code /}: {@code inputs}, parameters under {@code parameters}. */
    TGI_GENERATE,
    /** KServe v2 / Triton {@code infer}: tensors; no text or parameters this product reads. */
    KSERVE_INFER,
    /** No body the policies read (model-free or unknown endpoints). */
    NONE
}
