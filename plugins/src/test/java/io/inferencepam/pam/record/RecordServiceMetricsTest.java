package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pam-record's metrics see the writer's whole life: they are registered before it writes anything. */
class RecordServiceMetricsTest {
    @TempDir
    Path dir;

    /**
     * The writer's first sink write (this lifetime's signed anchor) must be in the write histogram.
     * The registry here is slow to register that histogram: it waits (bounded) until the
     * written-entries gauge counts the anchor, so a writer started before registration has
     * stored it by then, unobserved.
     */
    @Test
    void theAnchorsWriteIsInTheWriteHistogram() throws Exception {
        try (Env env = new Env(dir)) {
            RecordService svc = RecordService.start(new PamServices(env));
            AuditWriterStatsWait.until(() -> svc.writer().stats().sinkWrites.get() >= 1);
            AuditWriterStatsWait.until(() -> histogramCount(((SlowRegistry) env.metrics).scrape()) == svc.writer().stats().sinkWrites.get());
            assertThat(histogramCount(((SlowRegistry) env.metrics).scrape())).isEqualTo(svc.writer().stats().sinkWrites.get());
        }
    }

    /**
     * A registry that refuses a gauge: start fails, and leaves nothing behind. The sweep is not
     * scheduled and the spool directory's lock is released, so a second start in the same
     * directory succeeds (on main the lock stayed held: OverlappingFileLockException).
     */
    @Test
    void aStartThatFailsToRegisterItsMetricsReleasesWhatItTook() throws Exception {
        try (Env env = new Env(dir, new RefusingRegistry())) {
            assertThatThrownBy(() -> RecordService.start(new PamServices(env)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("refused");
            assertThat(env.scheduler.getQueue()).as("tasks left scheduled").isEmpty();
            assertThat(env.hooks).as("shutdown hooks left registered").isEmpty();
        }
        try (Env env = new Env(dir)) {
            RecordService svc = RecordService.start(new PamServices(env));
            assertThat(svc.writer().awaitIdle(java.time.Duration.ofSeconds(5))).isTrue();
        }
    }

    /**
     * A start that fails with an Error after taking the spool lock (a thread that cannot be
     * created): the lock is released all the same, and no metric family is left registered (the
     * factory starts again on the next conf, and a registry cannot take a family back: the
     * scrape would carry each twice). On main the gauges were registered first and only
     * IOException and RuntimeException released what the start took: the lock stayed held.
     */
    @Test
    void aStartThatFailsWithAnErrorReleasesTheLockAndLeavesNoMetricRegistered() throws Exception {
        PrometheusMetrics registry = new PrometheusMetrics();
        try (Env env = new Env(dir, registry, new ScheduledThreadPoolExecutor(1) {
            @Override
            public java.util.concurrent.ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay,
                                                                                  TimeUnit unit) {
                throw new OutOfMemoryError("unable to create native thread");
            }
        })) {
            assertThatThrownBy(() -> RecordService.start(new PamServices(env))).isInstanceOf(OutOfMemoryError.class);
            assertThat(registry.scrape()).as("families registered by the failed start").doesNotContain("pam_audit_");
            assertThat(env.hooks).as("shutdown hooks left registered").isEmpty();
        }
        try (Env env = new Env(dir)) {
            RecordService svc = RecordService.start(new PamServices(env));
            assertThat(svc.writer().awaitIdle(java.time.Duration.ofSeconds(5))).isTrue();
        }
    }

    /** A registry that refuses one gauge, as a registry with a name clash would. */
    private static final class RefusingRegistry implements Metrics {
        final PrometheusMetrics inner = new PrometheusMetrics();

        @Override
        public Counter counter(String name, String help, String... labelNames) {
            return inner.counter(name, help, labelNames);
        }

        @Override
        public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
            return inner.histogram(name, help, buckets, labelNames);
        }

        @Override
        public void gauge(String name, String help, DoubleSupplier value) {
            if (name.equals("pam_audit_pending_calls")) {
                throw new IllegalStateException("gauge refused: " + name);
            }
            inner.gauge(name, help, value);
        }
    }

    private static long histogramCount(String scrape) {
        Matcher m = Pattern.compile("(?m)^pam_audit_sink_write_entries_count\\s+([0-9.eE+]+)").matcher(scrape);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
    }

    /** Polls a condition for at most 5 s (a bound on waiting, not an assertion about time). */
    private static final class AuditWriterStatsWait {
        static void until(java.util.function.BooleanSupplier done) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!done.getAsBoolean() && System.nanoTime() < end) {
                Thread.sleep(5);
            }
        }
    }

    /** A registry that registers the write histogram only after the writer has stored its anchor (or 2 s passed). */
    private static final class SlowRegistry implements Metrics {
        final PrometheusMetrics inner = new PrometheusMetrics();
        private DoubleSupplier written = () -> 0;

        @Override
        public Counter counter(String name, String help, String... labelNames) {
            return inner.counter(name, help, labelNames);
        }

        @Override
        public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
            if (name.equals("pam_audit_sink_write_entries")) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (written.getAsDouble() < 1 && System.nanoTime() < end) {
                    Thread.onSpinWait();
                }
            }
            return inner.histogram(name, help, buckets, labelNames);
        }

        @Override
        public void gauge(String name, String help, DoubleSupplier value) {
            if (name.equals("pam_audit_entries_written")) {
                written = value;
            }
            inner.gauge(name, help, value);
        }

        String scrape() {
            return inner.scrape();
        }
    }

    /** A real environment: thread pools, the registry above, settings for the file sink. */
    private static final class Env implements PluginEnvironment, AutoCloseable {
        final ExecutorService blocking = Executors.newFixedThreadPool(2);
        final ScheduledThreadPoolExecutor scheduler;
        final Metrics metrics;
        final Map<String, String> settings;
        final Deque<AutoCloseable> hooks = new ArrayDeque<>();

        Env(Path dir) {
            this(dir, new SlowRegistry());
        }

        Env(Path dir, Metrics metrics) {
            this(dir, metrics, new ScheduledThreadPoolExecutor(1));
        }

        Env(Path dir, Metrics metrics, ScheduledThreadPoolExecutor scheduler) {
            this.metrics = metrics;
            this.scheduler = scheduler;
            scheduler.setRemoveOnCancelPolicy(true); // a cancelled task leaves the queue: the queue shows what stays scheduled
            settings = Map.of("PAM_AUDIT_SINK", "file", "PAM_AUDIT_SPOOL_DIR", dir.resolve("spool").toString(),
                    "PAM_AUDIT_FILE_DIR", dir.resolve("files").toString());
        }

        @Override
        public java.util.concurrent.Executor blockingExecutor() {
            return blocking;
        }

        @Override
        public ScheduledExecutorService scheduler() {
            return scheduler;
        }

        @Override
        public ControlApi control() {
            return (method, path, handler) -> { };
        }

        @Override
        public Metrics metrics() {
            return metrics;
        }

        @Override
        public Clock clock() {
            return Clock.systemUTC();
        }

        @Override
        public Optional<String> setting(String name) {
            return Optional.ofNullable(settings.get(name));
        }

        @Override
        public void onShutdown(AutoCloseable resource) {
            hooks.push(resource);
        }

        @Override
        public void close() throws Exception {
            while (!hooks.isEmpty()) {
                hooks.pop().close();
            }
            blocking.shutdownNow();
            scheduler.shutdownNow();
        }
    }
}
