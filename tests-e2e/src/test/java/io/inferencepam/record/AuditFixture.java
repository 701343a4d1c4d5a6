package io.inferencepam.record;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import redis.clients.jedis.JedisPooled;

/** A real redis-server, a real runner process with pam-record, the driver and an upstream. */
final class AuditFixture implements AutoCloseable {
    static final String STREAM = RedisStreamSink.DEFAULT_KEY;
    final String[] keys = CheckpointSigner.generate();
    final RedisServer redis;
    final RunnerProcess runner;
    final EchoUpstream upstream;
    final ApisixDriver driver;
    final Path spool;
    final JedisPooled jedis;
    final HttpClient http = HttpClient.newHttpClient();
    /**
     * Where the runner archives ({@code PAM_AUDIT_ARCHIVE_DIR}), if it does: its archiver moves
     * entries there and trims them from the stream every pass, so a record can leave the stream
     * between two looks at it.
     */
    final Optional<Path> archive;

    AuditFixture(Map<String, String> extraEnv, boolean startRedis) throws Exception {
        redis = RedisServer.start();
        if (!startRedis) {
            redis.stop();
        }
        spool = Files.createTempDirectory("pam-audit-spool");
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PAM_REDIS_URL", redis.url());
        env.put("PAM_AUDIT_SPOOL_DIR", spool.toString());
        env.put("PAM_AUDIT_SIGNING_KEY", keys[0]);
        env.put("PAM_AUDIT_VERIFY_KEY", keys[1]); // the runner's public key: its control API verifies with it
        env.put("PAM_AUDIT_CHECKPOINT_EVERY", "10");
        env.put("PAM_AUDIT_CHECKPOINT_INTERVAL_MS", "300");
        env.putAll(extraEnv);
        archive = Optional.ofNullable(env.get("PAM_AUDIT_ARCHIVE_DIR")).map(Path::of);
        runner = RunnerProcess.start(env);
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        jedis = new JedisPooled(URI.create(redis.url()), 5000);
    }

    AuditQuery query() {
        return new AuditQuery(new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC()));
    }

    /**
     * Waits for the record of this call to be stored: in the stream, or, when the runner archives,
     * in the archive then the stream (one read, as {@code pamctl --file DIR --redis URL} reads them:
     * looking at the stream alone, a record archived and trimmed between two looks was never seen).
     */
    JsonNode record(String requestId) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < end) {
            Optional<JsonNode> r = trail().show(requestId);
            if (r.isPresent()) {
                return r.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no audit record for " + requestId + "; runner log:\n" + runner.log());
    }

    /** The whole trail: the archive (when the runner archives and has archived) then the stream. */
    private AuditQuery trail() throws Exception {
        if (archive.isEmpty() || !io.inferencepam.pam.record.archive.ArchiveDirectory.isArchive(archive.get())) {
            return query();
        }
        return new AuditQuery(new io.inferencepam.pam.record.query.ArchiveAndStream(
                new io.inferencepam.pam.record.query.JsonLinesFiles(List.of(archive.get())),
                new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC())));
    }

    /**
     * Waits until the newest stored entry is a checkpoint, so that one covers every entry before
     * it. The writer's {@code idle} says every record is stored, not that the checkpoint after
     * them is: that one comes up to the checkpoint interval later, and later still on a loaded
     * host. Verify reports a tail left uncovered for more than twice the interval as
     * {@code POSSIBLE_TRUNCATION} (rightly: the runner may have died, or the checkpoint been cut),
     * so a verify of a live runner's trail waits for this first.
     */
    void awaitCheckpointedTail() throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            List<StoredEntry> all = entries();
            if (!all.isEmpty() && "checkpoint".equals(CanonicalJson.parse(all.get(all.size() - 1).json()).path("kind").asText())) {
                return;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("the stream's tail is still not covered by a checkpoint; runner log:\n" + runner.log());
            }
            Thread.sleep(50);
        }
    }

    List<StoredEntry> entries() throws Exception {
        List<StoredEntry> out = new ArrayList<>();
        new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC()).scan(0, out::add);
        return out;
    }

    /** Every byte stored for the audit trail (for "the secret never appears" checks). */
    String everythingStored() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (StoredEntry e : entries()) {
            sb.append(e.json()).append('\n');
        }
        return sb.toString();
    }

    JsonNode control(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort() + path))
                        .header("Authorization", runner.controlAuthorization()).build(),
                HttpResponse.BodyHandlers.ofString());
        return CanonicalJson.parse(r.body());
    }

    int controlStatus(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort() + path))
                        .header("Authorization", runner.controlAuthorization()).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Override
    public void close() throws Exception {
        jedis.close();
        driver.close();
        upstream.close();
        runner.close();
        redis.close();
    }
}
