package io.inferencepam.pam.catalog;

/**
 * Where model servers report token usage in a response, per family (checked against each server's
 * API; versions named where behaviour changed).
 */
public enum UsageFormat {
    /**
     * OpenAI-compatible (OpenAI, vLLM ≥ 0.5, SGLang, LiteLLM, TGI Messages API, Ollama's {@code /v1}):
     * top-level {@code usage} with {@code prompt_tokens}, {@code completion_tokens}, {@code total_tokens}
     * (chat, completions, embeddings); the Responses API uses {@code input_tokens} / {@code output_tokens},
     * streamed inside the {@code response.completed} event's {@code response}. Streamed chat and
     * completions report usage only when the request asked for it with
     * {@code stream_options.include_usage: true}: a final chunk with {@code "choices": []} and the
     * {@code usage} of the whole call (vLLM's {@code continuous_usage_stats} repeats a running total
     * in every chunk; the last one wins either way).
     */
    OPENAI,
    /**
     * Ollama native ({@code /api/chat}, {@code /api/generate}, {@code /api/embed}; Ollama 0.1.x–0.12):
     * top-level {@code prompt_eval_count} and {@code eval_count}, in the one JSON object of a
     * non-streamed answer or in the final {@code "done": true} line of the NDJSON stream
     * ({@code application/x-ndjson}, streamed unless the request says {@code "stream": false}).
     */
    OLLAMA,
    /**
     * TGI native ({@code /generate}, {@code /generate_stream}; TGI 2.x–3.x): {@code details.generated_tokens}
     * — only generated tokens, and on {@code /generate} only when the request set
     * {@code parameters.details: true}; the final SSE event of {@code /generate_stream} carries it.
     */
    TGI
}
