package io.inferencepam.pam.catalog;

/**
 * The tokens one model-server response reports having used.
 *
 * @param inputTokens  prompt / input tokens (OpenAI {@code prompt_tokens} or {@code input_tokens},
 *                     Ollama {@code prompt_eval_count}); 0 when the server does not say
 * @param outputTokens generated tokens (OpenAI {@code completion_tokens} or {@code output_tokens},
 *                     Ollama {@code eval_count}, TGI {@code details.generated_tokens})
 * @param totalTokens  the server's own total when it reports one, else input + output
 * @param format       where the numbers were read
 */
public record Usage(long inputTokens, long outputTokens, long totalTokens, UsageFormat format) {
    public Usage {
        if (inputTokens < 0 || outputTokens < 0 || totalTokens < 0) {
            throw new IllegalArgumentException("negative token count");
        }
    }

    /** Input + output, or the reported total when the server gives one that is larger (e.g. reasoning tokens). */
    static Usage of(long input, long output, long reportedTotal, UsageFormat format) {
        long sum = saturatedAdd(input, output);
        return new Usage(input, output, Math.max(sum, reportedTotal), format);
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }
}
