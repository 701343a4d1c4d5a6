package io.inferencepam.pam.record;

import io.inferencepam.pam.record.sink.RedisStreamSink;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Runner-wide audit settings ({@code PAM_AUDIT_*}): one hash chain, one sink and one spool per
 * runner, shared by every route that lists pam-record. See docs/plugins/pam-record.md.
 */
public record RecordSettings(
        String sink,
        String streamKey,
        long streamMaxLen,
        Duration maxAge,
        Optional<Path> fileDir,
        long fileMaxBytes,
        int fileMaxFiles,
        Path spoolDir,
        long spoolMaxBytes,
        long spoolMinFreeBytes,
        int queueCapacity,
        int batchSize,
        Duration linger,
        Optional<String> signingKey,
        Optional<String> verifyKey,
        long checkpointEvery,
        Duration checkpointInterval,
        Optional<String> instanceId) {

    public static RecordSettings from(PluginEnvironment env) {
        String sink = env.setting("PAM_AUDIT_SINK").orElse("redis").trim();
        if (!sink.equals("redis") && !sink.equals("file")) {
            throw new IllegalArgumentException("PAM_AUDIT_SINK must be redis or file");
        }
        // No default directories: a path under the shared temporary directory could be prepared
        // (or read) by another user. AuditDirectory checks the configured ones at start.
        Path spoolDir = requiredPath(env, "PAM_AUDIT_SPOOL_DIR", "the audit spool");
        Optional<Path> fileDir = sink.equals("file")
                ? Optional.of(requiredPath(env, "PAM_AUDIT_FILE_DIR", "the audit files (PAM_AUDIT_SINK=file)"))
                : Optional.empty();
        return new RecordSettings(
                sink,
                env.setting("PAM_AUDIT_STREAM").orElse(RedisStreamSink.DEFAULT_KEY),
                number(env, "PAM_AUDIT_STREAM_MAXLEN", 0),
                Duration.ofSeconds(number(env, "PAM_AUDIT_MAX_AGE_SECONDS", 0)),
                fileDir,
                number(env, "PAM_AUDIT_FILE_MAX_BYTES", 100L << 20),
                (int) number(env, "PAM_AUDIT_FILE_MAX_FILES", 0),
                spoolDir,
                number(env, "PAM_AUDIT_SPOOL_MAX_BYTES", 1L << 30),
                number(env, "PAM_AUDIT_SPOOL_MIN_FREE_BYTES", 64L << 20),
                (int) Math.max(1, number(env, "PAM_AUDIT_QUEUE", 10_000)),
                (int) Math.max(1, number(env, "PAM_AUDIT_BATCH", 256)),
                Duration.ofMillis(Math.min(1000, number(env, "PAM_AUDIT_LINGER_MS", 5))),
                env.setting("PAM_AUDIT_SIGNING_KEY").filter(s -> !s.isBlank()),
                env.setting("PAM_AUDIT_VERIFY_KEY").filter(s -> !s.isBlank()),
                Math.max(1, number(env, "PAM_AUDIT_CHECKPOINT_EVERY", 1000)),
                Duration.ofMillis(Math.max(10, number(env, "PAM_AUDIT_CHECKPOINT_INTERVAL_MS", 60_000))),
                env.setting("PAM_AUDIT_INSTANCE_ID").filter(s -> !s.isBlank()));
    }

    private static Path requiredPath(PluginEnvironment env, String name, String what) {
        String raw = env.setting(name).map(String::trim).filter(s -> !s.isEmpty())
                .orElseThrow(() -> new IllegalArgumentException(name + " is not set: pam-record needs a directory of its own for "
                        + what + " (e.g. /var/lib/inference-pam/spool on persistent local storage; created with mode 700)"));
        Path p = Path.of(raw);
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException(name + " must be an absolute path");
        }
        return p;
    }

    private static long number(PluginEnvironment env, String name, long fallback) {
        return nonNegative(env::setting, name, fallback);
    }

    /** A non-negative integer setting, {@code fallback} when unset or blank; a clear error otherwise. */
    public static long nonNegative(java.util.function.Function<String, Optional<String>> env, String name, long fallback) {
        Optional<String> raw = env.apply(name).filter(s -> !s.isBlank());
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            long v = Long.parseLong(raw.get().trim());
            if (v < 0) {
                throw new IllegalArgumentException(name + " must not be negative");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer");
        }
    }
}
