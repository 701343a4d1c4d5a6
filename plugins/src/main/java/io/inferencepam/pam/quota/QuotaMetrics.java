package io.inferencepam.pam.quota;

import io.inferencepam.runner.spi.Metrics;

/** pam-quota's metrics. Labels come from a fixed vocabulary plus the conf's limit ids: never a principal or model. */
final class QuotaMetrics {
    private static final double[] SECONDS = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

    private final Metrics.Counter decisions;
    private final Metrics.Counter exceeded;
    private final Metrics.Counter usage;
    private final Metrics.Counter tokens;
    private final Metrics.Histogram redisSeconds;

    QuotaMetrics(Metrics metrics) {
        this.decisions = metrics.counter("pam_quota_requests_total", "pam-quota admissions by outcome", "outcome");
        this.exceeded = metrics.counter("pam_quota_exceeded_total", "Calls refused over quota, by limit id and cap", "limit", "kind");
        this.usage = metrics.counter("pam_quota_usage_total", "Responses of token-capped calls by what happened to their usage", "result");
        this.tokens = metrics.counter("pam_quota_tokens_charged_total", "Tokens charged to quotas (once per call, whatever the number of limits)");
        this.redisSeconds = metrics.histogram("pam_quota_redis_seconds", "Time of one quota script, queueing on the blocking executor included",
                SECONDS, "script");
    }

    /** {@code allow}, {@code exceeded}, {@code unavailable}, {@code fail_open}, {@code no_principal}, {@code no_limit}, {@code stream_usage_required}. */
    void outcome(String outcome) {
        decisions.inc(outcome);
    }

    void exceeded(String limitId, String kind) {
        exceeded.inc(limitId, kind);
    }

    /** {@code charged}, {@code zero}, {@code missing}, {@code not_2xx}, {@code unavailable}, {@code no_ticket}. */
    void usage(String result) {
        usage.inc(result);
    }

    void tokens(long n) {
        tokens.add(n);
    }

    void redis(String script, long nanos) {
        redisSeconds.observeNanos(nanos, script);
    }
}
