package io.inferencepam.pam.auth;

import io.inferencepam.runner.spi.Metrics;

/** pam-auth's metrics. Labels come from a fixed vocabulary: never a token, subject or model name. */
final class AuthMetrics {
    private final Metrics.Counter outcomes;
    final Metrics.Counter jwksRefreshes;

    AuthMetrics(Metrics metrics) {
        this.outcomes = metrics.counter("pam_auth_requests_total", "pam-auth decisions by outcome", "outcome");
        this.jwksRefreshes = metrics.counter("pam_auth_jwks_refresh_total", "JWKS loads by result", "result");
    }

    void outcome(String outcome) {
        outcomes.inc(outcome);
    }
}
