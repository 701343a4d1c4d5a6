package io.inferencepam.pam.cli;

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

    @Option(names = "--file", description = "JSON-lines file or file-sink directory (repeatable, read in order); "
            + "replaces --redis")
    List<Path> files;

    /** Opened store; close it after use. */
    AuditSink open() throws Exception {
        if (files != null && !files.isEmpty()) {
            return new JsonLinesFiles(files);
        }
        String url = redis != null ? redis : System.getenv().getOrDefault("PAM_REDIS_URL", "redis://127.0.0.1:6379");
        JedisPooled jedis = new JedisPooled(URI.create(url), 5000);
        RedisStreamSink sink = new RedisStreamSink(jedis, stream, 0, Duration.ZERO, Clock.systemUTC());
        return new AuditSink() {
            @Override
            public String kind() {
                return sink.kind();
            }

            @Override
            public void write(List<io.inferencepam.pam.record.sink.ChainedEntry> batch) {
                throw new UnsupportedOperationException("read-only");
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
            public void close() {
                jedis.close();
            }
        };
    }
}
