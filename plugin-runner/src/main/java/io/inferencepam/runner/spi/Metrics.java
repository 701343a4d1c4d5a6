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

        /**
         * The series of these label values, found once: for a hot path that updates the same
         * series on every call, instead of a lookup by label values each time. The series
         * appears in the exposition at its first update, as with {@link #inc}.
         */
        default Series labels(String... labelValues) {
            String[] values = labelValues.clone();
            return amount -> add(amount, values);
        }

        /** One series of a counter. */
        @FunctionalInterface
        interface Series {
            void add(long amount);

            default void inc() {
                add(1);
            }
        }
    }

    interface Histogram {
        /** A value in the unit of the histogram's buckets. */
        void observe(double value, String... labelValues);

        /** A duration, for a histogram whose buckets are seconds. */
        default void observeNanos(long nanos, String... labelValues) {
            observe(nanos / 1e9, labelValues);
        }

        /** The series of these label values, found once (see {@link Counter#labels}). */
        default Series labels(String... labelValues) {
            String[] values = labelValues.clone();
            return value -> observe(value, values);
        }

        /** One series of a histogram. */
        @FunctionalInterface
        interface Series {
            void observe(double value);

            /** A duration, for a histogram whose buckets are seconds. */
            default void observeNanos(long nanos) {
                observe(nanos / 1e9);
            }
        }
    }
}
