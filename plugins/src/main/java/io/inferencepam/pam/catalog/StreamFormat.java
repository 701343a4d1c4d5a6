package io.inferencepam.pam.catalog;

/** How an endpoint streams its answer, so response-side plugins know what to reassemble. */
public enum StreamFormat {
    /**
     * Server-sent events {@code data: {json}\n\n}, one chunk object per event, ending with
     * {@code data: [DONE]} (OpenAI chat/completions; vLLM, SGLang, LiteLLM, TGI Messages API,
     * Ollama {@code /v1}). Streams when the body says {@code "stream": true}.
     */
    SSE_OPENAI,
    /**
     * Server-sent events with typed events ({@code event: response.output_text.delta}), OpenAI
     * Responses API; no {@code [DONE]} sentinel, the last event is {@code response.completed}.
     */
    SSE_OPENAI_RESPONSES,
    /**
     * Newline-delimited JSON ({@code application/x-ndjson}), one object per line, the last with
     * {@code "done": true} and the token counts (Ollama {@code /api/chat}, {@code /api/generate},
     * pull/push progress). Streams unless the body says {@code "stream": false}.
     */
    NDJSON_OLLAMA,
    /**
     * Server-sent events {@code data: {"token":{...},"generated_text":null}}; the last event
     * carries {@code generated_text} and {@code details} (TGI {@code /generate_stream}, and
     * {@code /} with {@code "stream": true}).
     */
    SSE_TGI,
    /**
     * Server-sent events {@code data: {json}} of the Triton generate extension
     * ({@code /v2/models/{m}/generate_stream}).
     */
    SSE_TRITON_GENERATE,
    /** HTTP chunked transfer, each chunk a piece of the handler's output (TorchServe streaming handlers). */
    CHUNKED,
    /** One complete response. */
    NONE
}
