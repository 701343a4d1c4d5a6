package io.inferencepam.pam.record.archive;

import io.inferencepam.runner.spi.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import redis.clients.jedis.UnifiedJedis;

/**
 * The runner's archiving in the background: a slow timer ({@code PAM_AUDIT_ARCHIVE_CHECK_MS},
 * 10 s: 0.1 wake-ups a second) hands one pass to the blocking executor, never two at once. Every
 * runner measures the lag and alerts (metric and log line); runners with
 * {@code PAM_AUDIT_ARCHIVE_DIR} also compete for the lease and archive. Also used by
 * {@code pamctl audit archive}, with a thread of its own.
 */
public final class ArchiveTask implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ArchiveTask.class);
    /** While behind, the alert line is repeated this often. */
    private static final Duration REPEAT_ALERT = Duration.ofMinutes(5);

    private final UnifiedJedis jedis;
    private final String streamKey;
    private final ArchiveSettings settings;
    private final Optional<StreamArchiver> archiver;
    private final long emergencyCap;
    private final Clock clock;
    private final AtomicBoolean running = new AtomicBoolean();
    /** close() runs once: at shutdown, and again when the service gives back what its start took. */
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile ArchiveLag lag = new ArchiveLag(0, 0, false, Optional.empty());
    private volatile boolean holder;
    private volatile long failures;
    private volatile boolean storeUp = true;
    private long lastAlertMillis = Long.MIN_VALUE / 2;
    private boolean lostReported;
    private boolean mismatchReported;
    private ScheduledFuture<?> timer;

    public ArchiveTask(UnifiedJedis jedis, String streamKey, ArchiveSettings settings, Optional<StreamArchiver> archiver,
                       long emergencyCap, Clock clock) {
        this.jedis = jedis;
        this.streamKey = streamKey;
        this.settings = settings;
        this.archiver = archiver;
        this.emergencyCap = emergencyCap;
        this.clock = clock;
    }

    /** Runs a pass every {@code checkEvery} on {@code executor}, woken by {@code scheduler}. */
    public ArchiveTask schedule(ScheduledExecutorService scheduler, Executor executor) {
        long every = settings.checkEvery().toMillis();
        timer = scheduler.scheduleWithFixedDelay(() -> {
            if (running.compareAndSet(false, true)) {
                try {
                    executor.execute(this::passGuarded);
                } catch (RejectedExecutionException e) {
                    running.set(false); // busy: the next tick tries again
                }
            }
        }, Math.min(every, 1000), every, TimeUnit.MILLISECONDS);
        return this;
    }

    private void passGuarded() {
        try {
            pass(false);
        } finally {
            running.set(false);
        }
    }

    /** One pass: archive (when this process archives), then measure and alert. Never throws. */
    public StreamArchiver.Pass pass(boolean force) {
        StreamArchiver.Pass p = new StreamArchiver.Pass(false, 0, 0);
        try {
            if (archiver.isPresent()) {
                p = archiver.get().runOnce(force);
                holder = p.holder();
                if (p.segments() > 0) {
                    LOG.info("audit archive: {} entries in {} segment(s) archived; stream trimmed up to the last of them",
                            p.entries(), p.segments());
                }
            }
            lag = ArchiveLag.measure(jedis, streamKey, clock);
            if (!storeUp) {
                LOG.info("audit archive: Redis is reachable again; archiving resumes");
            }
            storeUp = true;
            alert(lag);
        } catch (ArchiveMismatchException e) {
            failures++;
            holder = false;
            if (!mismatchReported) {
                mismatchReported = true; // the same every pass until an operator acts: said once
                LOG.error("audit archive: {}", e.getMessage());
            }
        } catch (Exception e) {
            failures++;
            holder = false;
            if (storeUp) {
                // nothing is trimmed before its segment is durable, so a failed pass loses nothing: it is retried
                LOG.warn("audit archive pass failed ({}): nothing is trimmed until it succeeds; retrying every {} ms",
                        e.getClass().getSimpleName(), settings.checkEvery().toMillis());
            }
            storeUp = false;
        }
        return p;
    }

    private void alert(ArchiveLag l) {
        long now = clock.millis();
        if (l.behind(settings)) {
            if (now - lastAlertMillis >= REPEAT_ALERT.toMillis()) {
                lastAlertMillis = now;
                LOG.warn("audit archiving is behind: ~{} entries not archived, the oldest {} s old (alert at {} entries or {} s; "
                                + "{}). The stream is never trimmed past the last archived entry, so it grows until archiving "
                                + "catches up", l.unarchived(), l.oldestAgeMillis() / 1000, settings.alertEntries(),
                        settings.alertAge().toSeconds(), archiver.isPresent() ? "this runner archives to "
                                + settings.dir().map(Object::toString).orElse("?") : "this runner does not archive: "
                                + "PAM_AUDIT_ARCHIVE_DIR is unset here; is an archiver running (a runner with it, or pamctl audit archive)?");
            }
        } else if (lastAlertMillis > 0) {
            lastAlertMillis = Long.MIN_VALUE / 2;
            LOG.info("audit archiving caught up: ~{} entries wait", l.unarchived());
        }
        if (l.lostUnarchived() && !lostReported) {
            lostReported = true;
            LOG.error("audit stream was trimmed past the last archived entry ({}): entries may have been deleted without being "
                    + "archived ({})", l.cursor().map(Object::toString).orElse("?"), emergencyCap > 0
                    ? "PAM_AUDIT_STREAM_MAXLEN=" + emergencyCap + " emergency cap is set" : "not by pam-record: check who trims the stream");
        } else if (!l.lostUnarchived()) {
            lostReported = false;
        }
    }

    public void registerMetrics(Metrics m) {
        m.gauge("pam_audit_archive_unarchived_entries", "Audit stream entries not archived yet (approximate)", () -> lag.unarchived());
        m.gauge("pam_audit_archive_oldest_unarchived_seconds", "Age of the oldest audit stream entry not archived yet",
                () -> lag.oldestAgeMillis() / 1000.0);
        m.gauge("pam_audit_archive_behind", "1 when archiving is behind (PAM_AUDIT_ARCHIVE_ALERT_ENTRIES / _SECONDS)",
                () -> lag.behind(settings) ? 1 : 0);
        m.gauge("pam_audit_archive_lost_unarchived", "1 when the stream was trimmed past the last archived entry (emergency cap or a person)",
                () -> lag.lostUnarchived() ? 1 : 0);
        m.gauge("pam_audit_archive_holder", "1 while this runner holds the archiver lease", () -> holder ? 1 : 0);
        m.gauge("pam_audit_archive_failures", "Archive passes that failed (retried; nothing trimmed)", () -> failures);
        m.gauge("pam_audit_archive_segments", "Archive segments this runner wrote and committed",
                () -> archiver.map(StreamArchiver::segmentsWritten).orElse(0L));
        m.gauge("pam_audit_archive_entries", "Audit entries this runner archived", () -> archiver.map(StreamArchiver::entriesArchived).orElse(0L));
        m.gauge("pam_audit_stream_emergency_cap", "PAM_AUDIT_STREAM_MAXLEN (0: off, the default)", () -> emergencyCap);
    }

    public ArchiveLag lag() {
        return lag;
    }

    public boolean holder() {
        return holder;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        archiver.ifPresent(StreamArchiver::close);
    }
}
