package io.inferencepam.pam.guard;

import io.inferencepam.runner.spi.Metrics;

/** pam-guard's metrics. Labels come from fixed vocabularies: never a path, model or rule id from a conf. */
final class GuardMetrics {
    private final Metrics.Counter outcomes;
    private final Metrics.Counter blocks;

    GuardMetrics(Metrics metrics) {
        this.outcomes = metrics.counter("pam_guard_requests_total", "pam-guard decisions by outcome", "outcome");
        this.blocks = metrics.counter("pam_guard_endpoint_blocks_total",
                "endpoints refused (or, in observe mode, that would have been) by rule group", "group", "mode");
    }

    void outcome(String outcome) {
        outcomes.inc(outcome);
    }

    void blocked(String group, GuardMode mode) {
        blocks.inc(group, mode == GuardMode.OBSERVE ? "observe" : "enforce");
    }
}
