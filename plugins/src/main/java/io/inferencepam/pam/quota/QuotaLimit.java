package io.inferencepam.pam.quota;

import io.inferencepam.pam.auth.Glob;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One limit of a pam-quota conf: at most {@code requests} calls and/or {@code tokens} tokens per
 * principal in each fixed window of {@code window}, for the calls whose model matches one of
 * {@code models} (every call when empty), counted per model when {@code perModel}.
 *
 * @param requests request cap per window, -1 for none
 * @param tokens   token cap per window (input + output as the server reports them), -1 for none
 */
public record QuotaLimit(String id, Duration window, long requests, long tokens, List<Glob> models, boolean perModel) {

    public QuotaLimit {
        models = List.copyOf(models);
        if (requests < 0 && tokens < 0) {
            throw new IllegalArgumentException("a limit needs requests or tokens");
        }
    }

    /**
     * Whether this limit counts a call for {@code model} (empty: the call names no model). A limit
     * with model patterns never applies to a model-free call. A pattern's {@code *} crosses the
     * separators {@code / : @} here (pam-auth's deny reading): a limit covers at least what its
     * pattern seems to cover.
     */
    public boolean appliesTo(Optional<String> model) {
        if (models.isEmpty()) {
            return true;
        }
        if (model.isEmpty()) {
            return false;
        }
        for (Glob g : models) {
            if (g.matchesAcrossSegments(model.get())) {
                return true;
            }
        }
        return false;
    }

    public boolean capsTokens() {
        return tokens >= 0;
    }
}
