package io.inferencepam.runner.spi;

import java.util.function.DoubleSupplier;

/** A small Prometheus-style registry exposed on the control API at {@code /metrics}. */
public interface Metrics {

    Counter counter(String name, String help, String... labelNames);

    Histogram histogram(String name, String help, double[] bucketsSeconds, String... labelNames);

    void gauge(String name, String help, DoubleSupplier value);

    interface Counter {
        void inc(String... labelValues);

        void add(long amount, String... labelValues);
    }

    interface Histogram {
        void observeNanos(long nanos, String... labelValues);
    }
}
