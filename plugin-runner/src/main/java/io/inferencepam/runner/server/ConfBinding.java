package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Phase;

/**
 * What a conf token stands for, and the one phase whose calls may use it (the PrepareConf key
 * names it): a call of the other phase is answered CONF_TOKEN_NOT_FOUND, as an unknown token is.
 */
public sealed interface ConfBinding {
    Phase phase();

    /** A validated conf: its calls run its plugins. */
    record Compiled(PreparedConf conf, Phase phase) implements ConfBinding {
    }

    /**
     * A response-phase conf the runner could not prepare. APISIX has already called the upstream
     * when it asks for it and would send the original body with status 503 on any RPC failure
     * (conformance P11), so the PrepareConf gets a token anyway and each call using it gets the
     * safe 503 response.
     *
     * @param key the PrepareConf key (route, phase plugin, conf version), for logs
     */
    record FailClosed(String key, Phase phase, Refusal reason) implements ConfBinding {
    }

    /** Why a PrepareConf was refused; {@link #label} is the metric label. */
    public enum Refusal {
        /** The conf itself is wrong (unknown plugin, wrong phase, invalid value): lasting until the conf changes. */
        INVALID("invalid", false),
        /** Not prepared within the deadline (plugins still loading after a start, a plugin's create() hanging). */
        DEADLINE("deadline", true),
        /** The plugin executor refused the work (queue full). */
        OVERLOADED("overloaded", true),
        /** Plugins failed to load, or compiling failed unexpectedly. */
        UNAVAILABLE("unavailable", true),
        /** The key names no ext-plugin phase, so a token could not be bound to one. */
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
