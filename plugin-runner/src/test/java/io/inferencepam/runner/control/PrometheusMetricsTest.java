package io.inferencepam.runner.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.runner.spi.Metrics;
import org.junit.jupiter.api.Test;

class PrometheusMetricsTest {

    @Test
    void countersSumPerLabelSetAndEscapeLabelValues() {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Counter c = m.counter("pam_calls_total", "Calls", "type", "result");
        c.inc("req", "ok");
        c.inc("req", "ok");
        c.add(5, "req", "bad \"quoted\"\nline\\");
        String text = m.scrape();
        assertThat(text).contains("# TYPE pam_calls_total counter\n");
        assertThat(text).contains("pam_calls_total{type=\"req\",result=\"ok\"} 2\n");
        assertThat(text).contains("pam_calls_total{type=\"req\",result=\"bad \\\"quoted\\\"\\nline\\\\\"} 5\n");
    }

    /** A series bound once ({@code labels}) is the same series as the lookup by label values. */
    @Test
    void boundSeriesAddToTheSameSeriesAndAppearOnlyOnceUpdated() {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Counter c = m.counter("pam_calls_total", "Calls", "type", "result");
        Metrics.Histogram h = m.histogram("pam_rpc_seconds", "Latency", new double[] {0.001, 0.01}, "type");
        Metrics.Counter.Series ok = c.labels("req", "ok");
        Metrics.Counter.Series unused = c.labels("req", "never");
        Metrics.Histogram.Series fast = h.labels("a");
        h.labels("unused");
        assertThat(m.scrape()).doesNotContain("pam_calls_total{").doesNotContain("pam_rpc_seconds_count{");
        ok.inc();
        c.inc("req", "ok");
        ok.add(3);
        fast.observeNanos(500_000);
        h.observeNanos(5_000_000, "a");
        String text = m.scrape();
        assertThat(text).contains("pam_calls_total{type=\"req\",result=\"ok\"} 5\n").doesNotContain("never");
        assertThat(text).contains("pam_rpc_seconds_bucket{type=\"a\",le=\"0.001\"} 1\n");
        assertThat(text).contains("pam_rpc_seconds_count{type=\"a\"} 2\n").doesNotContain("unused");
        assertThat(unused).isNotNull();
        assertThatThrownBy(() -> c.labels("only-one")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unlabelledCounterHasNoBraces() {
        PrometheusMetrics m = new PrometheusMetrics();
        m.counter("pam_plain_total", "Plain").inc();
        assertThat(m.scrape()).contains("pam_plain_total 1\n");
    }

    @Test
    void histogramsAreCumulativePerLabelSet() {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Histogram h = m.histogram("pam_rpc_seconds", "Latency", new double[] {0.001, 0.01}, "type");
        h.observeNanos(500_000, "a");
        h.observeNanos(5_000_000, "a");
        h.observeNanos(50_000_000, "b");
        String text = m.scrape();
        assertThat(text).contains("pam_rpc_seconds_bucket{type=\"a\",le=\"0.001\"} 1\n");
        assertThat(text).contains("pam_rpc_seconds_bucket{type=\"a\",le=\"0.01\"} 2\n");
        assertThat(text).contains("pam_rpc_seconds_bucket{type=\"a\",le=\"+Inf\"} 2\n");
        assertThat(text).contains("pam_rpc_seconds_count{type=\"a\"} 2\n");
        assertThat(text).contains("pam_rpc_seconds_bucket{type=\"b\",le=\"0.01\"} 0\n");
        assertThat(text).contains("pam_rpc_seconds_count{type=\"b\"} 1\n");
    }

    @Test
    void histogramsOfPlainValuesKeepTheirUnit() {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Histogram h = m.histogram("pam_entries_per_write", "Entries per write", new double[] {1, 2, 4});
        h.observe(1);
        h.observe(3);
        h.observe(9);
        String text = m.scrape();
        assertThat(text).contains("pam_entries_per_write_bucket{le=\"1.0\"} 1\n");
        assertThat(text).contains("pam_entries_per_write_bucket{le=\"2.0\"} 1\n");
        assertThat(text).contains("pam_entries_per_write_bucket{le=\"4.0\"} 2\n");
        assertThat(text).contains("pam_entries_per_write_bucket{le=\"+Inf\"} 3\n");
        assertThat(text).contains("pam_entries_per_write_sum 13.0\n");
        assertThat(text).contains("pam_entries_per_write_count 3\n");
    }

    @Test
    void wrongLabelCountOrNullValueIsRejected() {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Counter c = m.counter("pam_x_total", "X", "a", "b");
        assertThatThrownBy(() -> c.inc("only-one")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.inc("a", null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aScrapeRacingObservationsNeverShowsABucketAboveInfOrACountOtherThanInf() throws Exception {
        PrometheusMetrics m = new PrometheusMetrics();
        Metrics.Histogram h = m.histogram("pam_race_seconds", "Race", new double[] {0.001, 0.01});
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread observer = new Thread(() -> {
            while (!stop.get()) {
                h.observe(0.0005);
            }
        });
        observer.start();
        try {
            java.util.regex.Pattern line = java.util.regex.Pattern.compile("pam_race_seconds_(bucket\\{le=\"([^\"]+)\"\\}|count) (\\d+)");
            for (int scrape = 0; scrape < 20_000; scrape++) {
                long previous = 0;
                long inf = -1;
                long count = -1;
                java.util.regex.Matcher x = line.matcher(m.scrape());
                while (x.find()) {
                    long v = Long.parseLong(x.group(3));
                    if (x.group(1).equals("count")) {
                        count = v;
                    } else {
                        assertThat(v).as("cumulative buckets never decrease").isGreaterThanOrEqualTo(previous);
                        previous = v;
                        if (x.group(2).equals("+Inf")) {
                            inf = v;
                        }
                    }
                }
                assertThat(count).as("_count equals the +Inf bucket").isEqualTo(inf);
            }
        } finally {
            stop.set(true);
            observer.join();
        }
    }

    @Test
    void notANumberCountsOnlyInInf() {
        PrometheusMetrics m = new PrometheusMetrics();
        m.histogram("pam_nan", "NaN", new double[] {1}).observe(Double.NaN);
        assertThat(m.scrape()).contains("pam_nan_bucket{le=\"1.0\"} 0\n", "pam_nan_bucket{le=\"+Inf\"} 1\n", "pam_nan_count 1\n");
    }
}
