package io.inferencepam.pam.mask.structure;

import java.util.List;

/**
 * Where model servers' streaming formats carry streamed text, beyond the OpenAI and Anthropic SSE
 * shapes {@link SseMasker} walks itself: the one piece of model-server knowledge pam-mask needs
 * to reassemble a value split across chunks. It belongs to the model-server catalogue of issue 11
 * ({@code io.inferencepam.pam.catalog}); until that lands, {@link #BUILTIN} holds it. A path is
 * member names joined by '.', from the root of one NDJSON line or one SSE event's JSON data.
 */
public interface StreamShapes {
    /** Paths whose strings, line after line, are the pieces of one streamed text (Ollama chat and generate). */
    List<String> ndjsonTextPaths();

    /** Two-member paths in SSE event data whose strings are pieces of one streamed text (TGI generate_stream). */
    List<String> sseTextPaths();

    /** Members whose non-null value spells the text token by token (logprobs, TGI top_tokens). */
    List<String> tokenDataMembers();

    StreamShapes BUILTIN = new StreamShapes() {
        @Override
        public List<String> ndjsonTextPaths() {
            // Ollama /api/chat (message.content, message.thinking) and /api/generate (response, thinking)
            return List.of("message.content", "message.thinking", "response", "thinking");
        }

        @Override
        public List<String> sseTextPaths() {
            // Hugging Face TGI /generate_stream
            return List.of("token.text");
        }

        @Override
        public List<String> tokenDataMembers() {
            return List.of("logprobs", "top_logprobs", "top_tokens");
        }
    };
}
