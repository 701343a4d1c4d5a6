package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.detect.KeyContext;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The member names and short values that every response of the model servers repeats
 * ({@code "choices"}, {@code "content"}, {@code "chat.completion"}, {@code "assistant"},
 * {@code "stop"}…), with what one conf's detectors say about them, worked out once per conf
 * instead of once per body. Issue 15: in a full-chain call with a 2 KiB completion, pam-mask spent
 * more of its time running every detector over the completion's fourteen member names and asking
 * each name's key context than on the completion's text.
 *
 * <p>Only strings that this conf's detectors leave alone are kept (a route whose custom dictionary
 * holds {@code "content"} still masks it), and only for the walk's existing memo of clean values:
 * a string kept here is treated exactly as one the walk found clean earlier in the same body.
 * Immutable, shared by all calls of the conf.
 */
public final class KnownStrings {
    /** Member names of OpenAI (chat, Responses, embeddings), Anthropic, Ollama, TGI and vLLM responses. */
    private static final List<String> NAMES = List.of("id", "object", "created", "created_at", "model", "choices", "index",
            "message", "delta", "role", "content", "refusal", "annotations", "audio", "reasoning_content", "reasoning",
            "finish_reason", "stop_reason", "logprobs", "top_logprobs", "usage", "prompt_tokens", "completion_tokens",
            "total_tokens", "prompt_tokens_details", "completion_tokens_details", "cached_tokens", "audio_tokens",
            "reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens", "system_fingerprint",
            "service_tier", "tool_calls", "tool_call_id", "type", "function", "name", "arguments", "text", "output",
            "output_text", "status", "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details",
            "stop_sequence", "cache_creation_input_tokens", "cache_read_input_tokens", "done", "done_reason",
            "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration",
            "response", "thinking", "generated_text", "details", "token", "tokens", "special", "logprob", "top_tokens",
            "data", "embedding", "error", "code", "param");
    /** Values those responses repeat (objects, roles, finish reasons, types) and the small integers of indexes. */
    private static final List<String> VALUES = List.of("chat.completion", "chat.completion.chunk", "text_completion",
            "response", "list", "embedding", "assistant", "user", "system", "tool", "developer", "stop", "length",
            "tool_calls", "content_filter", "function_call", "function", "message", "text", "output_text", "end_turn",
            "max_tokens", "stop_sequence", "tool_use", "completed", "in_progress", "incomplete", "eos_token", "default",
            "auto", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    /** {@link KeyContext#of} of every name above: it does not depend on the conf. */
    private static final Map<String, KeyContext> CONTEXTS = contexts();
    /** The longest string above: a longer value (a completion's text) is not hashed just to learn it is not one of them. */
    private static final int LONGEST = java.util.stream.Stream.concat(NAMES.stream(), VALUES.stream()).mapToInt(String::length).max().orElse(0);

    private final Set<String> clean;

    private KnownStrings(Set<String> clean) {
        this.clean = clean;
    }

    /** The strings above that {@code redactor} (one conf's detectors, allow list and actions) does not mask. */
    public static KnownStrings of(Redactor redactor) {
        Set<String> clean = new HashSet<>();
        for (List<String> list : List.of(NAMES, VALUES)) {
            for (String s : list) {
                MaskTally tally = new MaskTally();
                if (redactor.mask(s, tally).equals(s) && tally.isEmpty() && tally.blockedBy() == null) {
                    clean.add(s);
                }
            }
        }
        return new KnownStrings(Set.copyOf(clean));
    }

    /** True when {@code s} is known to be clean under this conf when masked as text (no key context). */
    public boolean clean(String s) {
        return s.length() <= LONGEST && clean.contains(s);
    }

    /** The key context of a well-known member name, or null for any other name (and for none). */
    static KeyContext context(String name) {
        return name == null ? null : CONTEXTS.get(name);
    }

    private static Map<String, KeyContext> contexts() {
        Map<String, KeyContext> m = new HashMap<>();
        for (String n : NAMES) {
            m.put(n, KeyContext.of(n));
        }
        return Map.copyOf(m);
    }
}
