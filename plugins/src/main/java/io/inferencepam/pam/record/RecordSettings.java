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
        Path fileDir,
        long fileMaxBytes,
        int fileMaxFiles,
        Path spoolDir,
        long spoolMaxBytes,
        long spoolMinFreeBytes,
        int queueCapacity,
        int batchSize,
        Duration linger,
        boolean idleThreads,
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
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"), "inference-pam");
        return new RecordSettings(
                sink,
                env.setting("PAM_AUDIT_STREAM").orElse(RedisStreamSink.DEFAULT_KEY),
                number(env, "PAM_AUDIT_STREAM_MAXLEN", 1_000_000),
                Duration.ofSeconds(number(env, "PAM_AUDIT_MAX_AGE_SECONDS", 0)),
                Path.of(env.setting("PAM_AUDIT_FILE_DIR").orElse(tmp.resolve("audit").toString())),
                number(env, "PAM_AUDIT_FILE_MAX_BYTES", 100L << 20),
                (int) number(env, "PAM_AUDIT_FILE_MAX_FILES", 0),
                Path.of(env.setting("PAM_AUDIT_SPOOL_DIR").orElse(tmp.resolve("audit-spool").toString())),
                number(env, "PAM_AUDIT_SPOOL_MAX_BYTES", 1L << 30),
                number(env, "PAM_AUDIT_SPOOL_MIN_FREE_BYTES", 64L << 20),
                (int) Math.max(1, number(env, "PAM_AUDIT_QUEUE", 10_000)),
                (int) Math.max(1, number(env, "PAM_AUDIT_BATCH", 256)),
                Duration.ofMillis(Math.min(1000, number(env, "PAM_AUDIT_LINGER_MS", 5))),
                idleThreads(env.setting("PAM_AUDIT_SCHED").orElse("idle").trim()),
                env.setting("PAM_AUDIT_SIGNING_KEY").filter(s -> !s.isBlank()),
                env.setting("PAM_AUDIT_VERIFY_KEY").filter(s -> !s.isBlank()),
                Math.max(1, number(env, "PAM_AUDIT_CHECKPOINT_EVERY", 1000)),
                Duration.ofMillis(Math.max(10, number(env, "PAM_AUDIT_CHECKPOINT_INTERVAL_MS", 60_000))),
                env.setting("PAM_AUDIT_INSTANCE_ID").filter(s -> !s.isBlank()));
    }

    private static boolean idleThreads(String sched) {
        return switch (sched) {
            case "idle" -> true;
            case "normal" -> false;
            default -> throw new IllegalArgumentException("PAM_AUDIT_SCHED must be idle or normal");
        };
    }

    private static long number(PluginEnvironment env, String name, long fallback) {
        Optional<String> raw = env.setting(name).filter(s -> !s.isBlank());
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
