package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Requirements;
import java.util.Optional;

/**
 * What a conf token stands for, and which calls may use it: those of the phase its PrepareConf
 * key names. A call of another phase is answered CONF_TOKEN_NOT_FOUND, as an unknown token is.
 */
public sealed interface ConfBinding {
    /** Whether a call of {@code phase} may use the token. */
    boolean serves(Phase phase);

    /** What a call using the token asks APISIX before it is answered. */
    Requirements needs(Phase phase);

    /** A validated conf: its calls run its plugins. */
    record Compiled(PreparedConf conf, Phase phase) implements ConfBinding {
        @Override
        public boolean serves(Phase p) {
            return phase == p;
        }

        @Override
        public Requirements needs(Phase p) {
            return conf.needs(p);
        }
    }

    /**
     * A conf the runner could not prepare, for a key whose calls must not get RPC_ERROR: a
     * response-phase key (APISIX has already called the upstream when it asks for it and would send
     * the original body with status 503 on any RPC failure, conformance P11), or a key that names
     * no phase, which might be one. Each call using it gets its phase's safe 503. It asks only for
     * {@code request_id}, to close the call's exchange: no plugin will.
     *
     * @param phase the phase the key names; empty: the token serves calls of either phase
     */
    record FailClosed(Optional<Phase> phase, Refusal reason) implements ConfBinding {
        private static final Requirements NEEDS = Requirements.vars(PreparedConf.REQUEST_ID_VAR);

        @Override
        public boolean serves(Phase p) {
            return phase.isEmpty() || phase.get() == p;
        }

        @Override
        public Requirements needs(Phase p) {
            return NEEDS;
        }
    }

    /** Why a PrepareConf was refused; {@link #label} is the metric label. */
    enum Refusal {
        /** The conf itself is wrong (unknown plugin, wrong phase, invalid value): lasting until the conf changes. */
        INVALID("invalid", false),
        /** Not prepared within the deadline (plugins still loading after a start, a plugin's create() hanging). */
        DEADLINE("deadline", true),
        /** The plugin executor refused the work (queue full). */
        OVERLOADED("overloaded", true),
        /** Plugins failed to load, or compiling failed unexpectedly. */
        UNAVAILABLE("unavailable", true),
        /** The key names no ext-plugin phase (not a key APISIX 3.18 sends): lasting, like the key. */
        UNBOUND_KEY("unbound_key", false);

        public final String label;
        /** Whether it may pass by itself: a token refused for it lives only briefly, so APISIX asks again soon. */
        public final boolean passing;

        Refusal(String label, boolean passing) {
            this.label = label;
            this.passing = passing;
        }
    }
}
