package io.inferencepam.pam.approval;

import io.inferencepam.runner.spi.Metrics;

/** pam-approval's metrics. Labels come from a fixed vocabulary: never an id, subject or model. */
final class ApprovalMetrics {
    private final Metrics.Counter calls;

    ApprovalMetrics(Metrics metrics) {
        this.calls = metrics.counter("pam_approval_calls_total",
                "pam-approval outcomes of calls on routes with hold rules", "outcome");
    }

    void call(String outcome) {
        calls.inc(outcome);
    }
}
