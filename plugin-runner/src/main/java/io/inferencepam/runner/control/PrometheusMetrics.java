package io.inferencepam.runner.control;

import io.inferencepam.runner.spi.Metrics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * A minimal Prometheus text-format registry: counters, histograms and gauges with labels. Hot-path
 * updates are a map lookup plus a {@link LongAdder} increment; no external library is needed for that.
 */
public final class PrometheusMetrics implements Metrics {
    private final List<Family> families = new CopyOnWriteArrayList<>();

    private interface Family {
        void write(StringBuilder out);
    }

    /**
     * One labelled series. The exposition label text is built once, when the series appears;
     * increments find the series by the label values themselves (a small list whose hash comes
     * from the values' cached String hashes), not by building and escaping the text per call.
     */
    private record Labeled<T>(String labels, T value) {
    }

    private static <T> Labeled<T> series(Map<List<String>, Labeled<T>> series, String[] names, String[] values,
                                         java.util.function.Supplier<T> create) {
        List<String> key = List.of(values); // rejects null values, as the escaping did
        Labeled<T> found = series.get(key);
        if (found != null) {
            return found;
        }
        return series.computeIfAbsent(key, k -> new Labeled<>(labelKey(names, values), create.get()));
    }

    private static String labelKey(String[] names, String[] values) {
        if (names.length != values.length) {
            throw new IllegalArgumentException("expected labels " + Arrays.toString(names));
        }
        if (names.length == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            sb.append(i == 0 ? "" : ",").append(names[i]).append("=\"").append(escape(values[i])).append('"');
        }
        return sb.toString();
    }

    private static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static void header(StringBuilder out, String name, String help, String type) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    @Override
    public Counter counter(String name, String help, String... labelNames) {
        Map<List<String>, Labeled<LongAdder>> series = new ConcurrentHashMap<>();
        families.add(out -> {
            header(out, name, help, "counter");
            series.values().forEach(s -> out.append(name).append(s.labels().isEmpty() ? "" : "{" + s.labels() + "}")
                    .append(' ').append(s.value().sum()).append('\n'));
        });
        return new Counter() {
            @Override
            public void inc(String... labelValues) {
                add(1, labelValues);
            }

            @Override
            public void add(long amount, String... labelValues) {
                series(series, labelNames, labelValues, LongAdder::new).value().add(amount);
            }

            @Override
            public Counter.Series labels(String... labelValues) {
                Once<LongAdder> found = new Once<>(series, labelNames, labelValues, LongAdder::new);
                return amount -> found.get().add(amount);
            }
        };
    }

    @Override
    public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        double[] bounds = buckets.clone();
        Arrays.sort(bounds);
        Map<List<String>, Labeled<Series>> series = new ConcurrentHashMap<>();
        families.add(out -> {
            header(out, name, help, "histogram");
            series.values().forEach(s -> s.value().write(out, name, s.labels(), bounds));
        });
        return new Histogram() {
            @Override
            public void observe(double value, String... labelValues) {
                series(series, labelNames, labelValues, () -> new PrometheusMetrics.Series(bounds.length)).value().observe(value, bounds);
            }

            @Override
            public Histogram.Series labels(String... labelValues) {
                Once<PrometheusMetrics.Series> found = new Once<>(series, labelNames, labelValues,
                        () -> new PrometheusMetrics.Series(bounds.length));
                return value -> found.get().observe(value, bounds);
            }
        };
    }

    /**
     * A series found by its label values at its first update, then kept: found lazily so that a
     * series bound ahead of time still appears in the exposition only once it has been updated.
     * Racing first updates find the same series ({@code computeIfAbsent}).
     */
    private static final class Once<T> {
        private final Map<List<String>, Labeled<T>> series;
        private final String[] names;
        private final String[] values;
        private final java.util.function.Supplier<T> create;
        private volatile T found;

        Once(Map<List<String>, Labeled<T>> series, String[] names, String[] values, java.util.function.Supplier<T> create) {
            labelKey(names, values); // a wrong label count fails here, when bound, not at the first update
            this.series = series;
            this.names = names;
            this.values = values.clone();
            this.create = create;
        }

        T get() {
            T t = found;
            if (t == null) {
                t = series(series, names, values, create).value();
                found = t;
            }
            return t;
        }
    }

    @Override
    public void gauge(String name, String help, DoubleSupplier value) {
        families.add(out -> {
            header(out, name, help, "gauge");
            out.append(name).append(' ').append(value.getAsDouble()).append('\n');
        });
    }

    /** Prometheus text exposition format 0.0.4. */
    public String scrape() {
        StringBuilder out = new StringBuilder(4096);
        for (Family f : families) {
            f.write(out);
        }
        return out.toString();
    }

    /**
     * One label set's histogram. The last bucket counts values above every bound, and {@code +Inf}
     * and {@code _count} are the sum of one read of all buckets, so a scrape racing observations
     * never shows a bucket above {@code +Inf} or a count different from {@code +Inf}.
     */
    private static final class Series {
        private final LongAdder[] buckets;
        private final java.util.concurrent.atomic.DoubleAdder sum = new java.util.concurrent.atomic.DoubleAdder();

        Series(int bounds) {
            buckets = new LongAdder[bounds + 1];
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(double value, double[] bounds) {
            int i = 0;
            while (i < bounds.length && !(value <= bounds[i])) { // NaN counts above every bound, as before
                i++;
            }
            buckets[i].increment();
            sum.add(value);
        }

        void write(StringBuilder out, String name, String labels, double[] bounds) {
            long cumulative = 0;
            String sep = labels.isEmpty() ? "" : labels + ",";
            for (int i = 0; i < bounds.length; i++) {
                cumulative += buckets[i].sum();
                out.append(name).append("_bucket{").append(sep).append("le=\"").append(bounds[i]).append("\"} ").append(cumulative).append('\n');
            }
            cumulative += buckets[bounds.length].sum();
            String l = labels.isEmpty() ? "" : "{" + labels + "}";
            out.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(cumulative).append('\n');
            out.append(name).append("_sum").append(l).append(' ').append(sum.sum()).append('\n');
            out.append(name).append("_count").append(l).append(' ').append(cumulative).append('\n');
        }
    }
}
