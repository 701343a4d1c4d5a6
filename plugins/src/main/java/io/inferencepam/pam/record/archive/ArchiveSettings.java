package io.inferencepam.pam.record.archive;

import io.inferencepam.runner.spi.PluginEnvironment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * The archiver's settings ({@code PAM_AUDIT_ARCHIVE_*}), shared by the runner's background task
 * and {@code pamctl audit archive}. See docs/plugins/pam-record.md, "Retention and archives".
 *
 * @param dir            where segments go; empty: this runner does not archive (it still watches the lag)
 * @param segmentBytes   a segment is cut once this many uncompressed bytes wait (and is at most about this big)
 * @param segmentAge     ... or once the oldest unarchived entry is this old
 * @param retention      segments whose newest entry is older than this are deleted; zero keeps them forever
 * @param checkEvery     how often the archiver (or the lag watch) wakes
 * @param leaseTtl       how long a lease outlives its holder's last renewal (takeover time after a crash)
 * @param alertEntries   alert when this many entries wait to be archived
 * @param alertAge       ... or when the oldest unarchived entry is this old
 */
public record ArchiveSettings(Optional<Path> dir, long segmentBytes, Duration segmentAge, Duration retention, Duration checkEvery,
                              Duration leaseTtl, long alertEntries, Duration alertAge) {

    public static ArchiveSettings from(PluginEnvironment env) {
        return from(env::setting);
    }

    /** From settings by name (the runner's, or pamctl's environment). */
    public static ArchiveSettings from(Function<String, Optional<String>> env) {
        Optional<Path> dir = env.apply("PAM_AUDIT_ARCHIVE_DIR").map(String::trim).filter(s -> !s.isEmpty()).map(Path::of);
        if (dir.isPresent() && !dir.get().isAbsolute()) {
            throw new IllegalArgumentException("PAM_AUDIT_ARCHIVE_DIR must be an absolute path");
        }
        ArchiveSettings s = new ArchiveSettings(dir,
                Math.max(1, number(env, "PAM_AUDIT_ARCHIVE_SEGMENT_BYTES", 128L << 20)),
                Duration.ofSeconds(number(env, "PAM_AUDIT_ARCHIVE_SEGMENT_SECONDS", 900)),
                Duration.ofDays(number(env, "PAM_AUDIT_ARCHIVE_RETENTION_DAYS", 0)),
                Duration.ofMillis(Math.max(100, number(env, "PAM_AUDIT_ARCHIVE_CHECK_MS", 10_000))),
                Duration.ofMillis(Math.max(1000, number(env, "PAM_AUDIT_ARCHIVE_LEASE_MS", 30_000))),
                Math.max(1, number(env, "PAM_AUDIT_ARCHIVE_ALERT_ENTRIES", 500_000)),
                Duration.ofSeconds(Math.max(1, number(env, "PAM_AUDIT_ARCHIVE_ALERT_SECONDS", 1800))));
        if (s.leaseTtl.compareTo(s.checkEvery.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("PAM_AUDIT_ARCHIVE_LEASE_MS must be at least twice PAM_AUDIT_ARCHIVE_CHECK_MS "
                    + "(the holder renews its lease once per check)");
        }
        return s;
    }

    private static long number(Function<String, Optional<String>> env, String name, long fallback) {
        return io.inferencepam.pam.record.RecordSettings.nonNegative(env, name, fallback);
    }
}
