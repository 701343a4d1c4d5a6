package io.inferencepam.runner.spi;

import java.util.function.DoubleSupplier;

/** A small Prometheus-style registry exposed on the control API at {@code /metrics}. */
public interface Metrics {

    Counter counter(String name, String help, String... labelNames);

    /**
     * @param buckets upper bounds, in the unit of the values observed: seconds for
     *                {@link Histogram#observeNanos}, anything else for {@link Histogram#observe}
     *                (for example entries per write)
     */
    Histogram histogram(String name, String help, double[] buckets, String... labelNames);

    void gauge(String name, String help, DoubleSupplier value);

    interface Counter {
        void inc(String... labelValues);

        void add(long amount, String... labelValues);
    }

    interface Histogram {
        /** A value in the unit of the histogram's buckets. */
        void observe(double value, String... labelValues);

        /** A duration, for a histogram whose buckets are seconds. */
        default void observeNanos(long nanos, String... labelValues) {
            observe(nanos / 1e9, labelValues);
        }
    }
}
