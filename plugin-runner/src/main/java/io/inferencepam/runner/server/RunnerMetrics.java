package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.Metrics;
import java.util.HashMap;
import java.util.Map;

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
    /*
     * The series every answered call updates (its RPC, its outcome, its latency), found once here
     * instead of by label values on each call (issue 15: 5-8 % of the event loop's Java time of a
     * no-op call). Keyed by the label strings the runtime passes; any other label goes the general way.
     */
    private final Map<String, Metrics.Counter.Series> answered = new HashMap<>();
    private final Map<String, Map<String, Metrics.Counter.Series>> outcomeSeries = new HashMap<>();
    private final Map<String, Metrics.Histogram.Series> latencySeries = new HashMap<>();

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
        for (String type : new String[] {"http_req_call", "http_resp_call"}) {
            answered.put(type, calls.labels(type, "answered"));
        }
        for (String type : new String[] {"http_req_call", "http_resp_call", "prepare_conf"}) {
            latencySeries.put(type, latency.labels(type));
        }
        for (String outcome : new String[] {"pass", "rewrite", "stop"}) {
            outcomeSeries.computeIfAbsent("request", k -> new HashMap<>()).put(outcome, outcomes.labels("request", outcome));
            outcomeSeries.computeIfAbsent("response", k -> new HashMap<>()).put(outcome, outcomes.labels("response", outcome));
        }
    }

    void rpc(String type, String result) {
        Metrics.Counter.Series bound = result.equals("answered") ? answered.get(type) : null;
        if (bound != null) {
            bound.inc();
        } else {
            calls.inc(type, result);
        }
    }

    void outcome(String phase, String outcome) {
        Map<String, Metrics.Counter.Series> ofPhase = outcomeSeries.get(phase);
        Metrics.Counter.Series bound = ofPhase == null ? null : ofPhase.get(outcome);
        if (bound != null) {
            bound.inc();
        } else {
            outcomes.inc(phase, outcome);
        }
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
        Metrics.Histogram.Series bound = latencySeries.get(type);
        if (bound != null) {
            bound.observeNanos(nanos);
        } else {
            latency.observeNanos(nanos, type);
        }
    }
}
