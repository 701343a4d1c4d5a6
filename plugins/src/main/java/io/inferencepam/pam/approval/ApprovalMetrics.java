package io.inferencepam.pam.approval;

import io.inferencepam.runner.spi.Metrics;

/** pam-approval's metrics. Labels come from a fixed vocabulary: never an id, subject or model. */
final class ApprovalMetrics {
    private final Metrics.Counter calls;
    private final Metrics.Counter live;

    ApprovalMetrics(Metrics metrics) {
        this.calls = metrics.counter("pam_approval_calls_total",
                "pam-approval outcomes of calls on routes with hold rules", "outcome");
        this.live = metrics.counter("pam_approval_live_total",
                "how calls held open ended: resumed (approved in time), parked (wait over), shutdown, denied, other, "
                        + "or cap (parked at once)", "outcome");
    }

    void live(String outcome) {
        live.inc(outcome);
    }

    void call(String outcome) {
        calls.inc(outcome);
    }
}
