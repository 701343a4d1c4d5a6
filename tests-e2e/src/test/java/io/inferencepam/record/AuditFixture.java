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
        runner = RunnerProcess.start(env);
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        jedis = new JedisPooled(URI.create(redis.url()), 5000);
    }

    AuditQuery query() {
        return new AuditQuery(new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC()));
    }

    /** Waits for the record of this call to be stored. */
    JsonNode record(String requestId) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < end) {
            Optional<JsonNode> r = query().show(requestId);
            if (r.isPresent()) {
                return r.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no audit record for " + requestId + "; runner log:\n" + runner.log());
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
