package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.query.ArchiveAndStream;
import io.inferencepam.pam.record.query.JsonLinesFiles;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;
import redis.clients.jedis.JedisPooled;

/** Where pamctl reads the audit trail: a Redis stream (default) or JSON-lines files. */
public final class StoreOptions {
    @Option(names = "--redis", description = "Redis URL (default: $PAM_REDIS_URL or redis://127.0.0.1:6379)")
    String redis;

    @Option(names = "--stream", description = "stream key (default: ${DEFAULT-VALUE})", defaultValue = RedisStreamSink.DEFAULT_KEY)
    String stream;

    @Option(names = "--file", description = "JSON-lines file, file-sink or archive directory (repeatable, read in order); "
            + "with --redis too: the files, then the stream's entries after the newest one they hold (archive + live "
            + "stream in one read)")
    List<Path> files;

    @Option(names = "--max-len", description = "the runners' PAM_AUDIT_STREAM_MAXLEN emergency cap (default: $PAM_AUDIT_STREAM_MAXLEN "
            + "or 0 = none): verify attributes entries missing before a chain's first stored one to retention only once the "
            + "stream is that long")
    Long maxLen;

    @Option(names = "--max-age-seconds", description = "the runners' PAM_AUDIT_MAX_AGE_SECONDS (default: $PAM_AUDIT_MAX_AGE_SECONDS or 0)")
    Long maxAgeSeconds;

    private static long env(String name, long fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : Long.parseLong(v.trim());
    }

    /** The stream key. */
    String stream() {
        return stream;
    }

    /** A Redis client for commands that read or trim the stream themselves (archive, export --follow); close it after use. */
    JedisPooled redis() {
        if (files != null && !files.isEmpty()) {
            throw new IllegalArgumentException("this command works on the Redis stream, not on --file");
        }
        String url = redis != null ? redis : System.getenv().getOrDefault("PAM_REDIS_URL", "redis://127.0.0.1:6379");
        return new JedisPooled(URI.create(url), 5000);
    }

    /** A Redis client given with {@code --redis} beside {@code --file} (verify reads the archived cursor); close it after use. */
    JedisPooled redisBesideFiles() {
        return new JedisPooled(URI.create(redis), 5000);
    }

    /** Opened store; close it after use. */
    AuditSink open() throws Exception {
        if (files != null && !files.isEmpty()) {
            return redis == null ? new JsonLinesFiles(files) : new ArchiveAndStream(new JsonLinesFiles(files), openStream());
        }
        return openStream();
    }

    private AuditSink openStream() {
        String url = redis != null ? redis : System.getenv().getOrDefault("PAM_REDIS_URL", "redis://127.0.0.1:6379");
        JedisPooled jedis = new JedisPooled(URI.create(url), 5000);
        // read-only: the retention settings only tell verify what retention may have trimmed
        RedisStreamSink sink = new RedisStreamSink(jedis, stream, maxLen != null ? maxLen : env("PAM_AUDIT_STREAM_MAXLEN", 0),
                Duration.ofSeconds(maxAgeSeconds != null ? maxAgeSeconds : env("PAM_AUDIT_MAX_AGE_SECONDS", 0)), Clock.systemUTC());
        return new io.inferencepam.pam.record.sink.ReadOnlySink() {
            @Override
            public String kind() {
                return sink.kind();
            }

            @Override
            public long highestSeq(String instance) {
                return sink.highestSeq(instance);
            }

            @Override
            public void scan(long from, java.util.function.Predicate<io.inferencepam.pam.record.chain.StoredEntry> visitor) {
                sink.scan(from, visitor);
            }

            @Override
            public java.util.Optional<io.inferencepam.pam.record.chain.StoredEntry> newest(String instance) {
                return sink.newest(instance);
            }

            @Override
            public io.inferencepam.pam.record.chain.ChainVerifier.Retention retention() {
                return sink.retention();
            }

            @Override
            public void close() {
                jedis.close();
            }
        };
    }
}
