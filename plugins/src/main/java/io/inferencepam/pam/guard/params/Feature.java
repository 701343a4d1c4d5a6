package io.inferencepam.pam.guard.params;

import java.util.Locale;

/**
 * A request feature that helps extract a model (its weights, its distribution or its training data)
 * and that a rule can forbid. Each feature stands for every spelling the model servers use for it;
 * {@link ShapeFields} knows them per body shape.
 */
public enum Feature {
    /** Log-probabilities of output or prompt tokens, and other model internals (hidden states). */
    LOGPROBS,
    /** Echoing the prompt back (with its log-probabilities on completions). */
    ECHO,
    /** Biasing or restricting the token distribution ({@code logit_bias}, vLLM {@code allowed_token_ids}). */
    LOGIT_BIAS,
    /** More than one choice per call ({@code n > 1}). */
    N,
    /** Server-side best-of sampling ({@code best_of > 1}). */
    BEST_OF;

    /** The conf spelling, e.g. {@code logit_bias}. */
    public String confName() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Feature fromConf(String name) {
        for (Feature f : values()) {
            if (f.confName().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown feature \"" + name + "\"");
    }
}
