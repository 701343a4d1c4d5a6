package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.Metrics;

/** The runtime's own series (plugins add theirs through {@link Metrics}). */
public final class RunnerMetrics {
    private static final double[] LATENCY_BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private final Metrics.Counter calls;
    private final Metrics.Counter outcomes;
    private final Metrics.Counter protocolErrors;
    private final Metrics.Counter confRefused;
    private final Metrics.Histogram latency;
    private final Metrics.Counter questions;

    public RunnerMetrics(Metrics m) {
        calls = m.counter("pam_runner_rpc_total", "RPCs received, by frame type and result", "type", "result");
        outcomes = m.counter("pam_runner_call_outcomes_total",
                "Plugin chain outcomes: pass, rewrite, stop, error, deadline", "phase", "outcome");
        protocolErrors = m.counter("pam_runner_protocol_errors_total",
                "Malformed, oversized, truncated or out-of-order frames", "kind");
        confRefused = m.counter("pam_runner_conf_refused_total",
                "PrepareConfs refused, by phase (request: RPC_ERROR; response: a fail-closed token) and reason",
                "phase", "reason");
        questions = m.counter("pam_runner_extra_info_questions_total",
                "ExtraInfo questions asked of APISIX (one Lua round trip each), by phase", "phase");
        latency = m.histogram("pam_runner_rpc_seconds", "Time from call frame to reply frame", LATENCY_BUCKETS, "type");
    }

    void rpc(String type, String result) {
        calls.inc(type, result);
    }

    void outcome(String phase, String outcome) {
        outcomes.inc(phase, outcome);
    }

    void protocolError(String kind) {
        protocolErrors.inc(kind);
    }

    void confRefused(String phase, String reason) {
        confRefused.inc(phase, reason);
    }

    void questions(String phase, int count) {
        if (count > 0) {
            questions.add(count, phase);
        }
    }

    void latency(String type, long nanos) {
        latency.observeNanos(nanos, type);
    }
}
