package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.StreamEntryID;

/**
 * Issue 10, item 13: an attacker who can write the audit store (Redis) but not the runner's disk
 * or key. Each attack below verified clean before the chain was anchored across lifetimes, every
 * checkpoint signed, and verify made to say "not verified" without a key; each must now be
 * reported. Real redis-server, real runner processes (restarted on the same spool directory, as
 * a service manager restarts them), the APISIX-side driver.
 */
class PamRecordTamperE2ETest {
    static final String STREAM = RedisStreamSink.DEFAULT_KEY;
    static final RouteConf ROUTE = RouteConf.builder("tamper").preReq(new ConfEntry("pam-record", "{}"))
            .postResp(new ConfEntry("pam-record", "{}")).build();

    final String[] keys = CheckpointSigner.generate();
    RedisServer redis;
    RunnerProcess runner;
    EchoUpstream upstream;
    ApisixDriver driver;
    JedisPooled jedis;
    Path spool;
    final HttpClient http = HttpClient.newHttpClient();
    int calls;

    @BeforeEach
    void start() throws Exception {
        redis = RedisServer.start();
        spool = Files.createTempDirectory("pam-tamper-spool");
        upstream = EchoUpstream.start();
        jedis = new JedisPooled(URI.create(redis.url()), 5000);
    }

    /** Runner env: the best main could do (a configured signing key, the verify key for its control API). */
    Map<String, String> env(Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PAM_REDIS_URL", redis.url());
        env.put("PAM_AUDIT_SPOOL_DIR", spool.toString());
        env.put("PAM_AUDIT_SIGNING_KEY", keys[0]);
        env.put("PAM_AUDIT_VERIFY_KEY", keys[1]);
        env.put("PAM_AUDIT_CHECKPOINT_EVERY", "10");
        env.put("PAM_AUDIT_CHECKPOINT_INTERVAL_MS", "300");
        env.putAll(extra);
        return env;
    }

    void launch(Map<String, String> extra) throws Exception {
        runner = RunnerProcess.start(env(extra));
        driver = new ApisixDriver(runner.socket());
    }

    /** SIGTERM (final checkpoint) and a new process on the same spool directory. */
    void restart() throws Exception {
        driver.close();
        runner.restart();
        driver = new ApisixDriver(runner.socket());
    }

    @AfterEach
    void stop() throws Exception {
        if (driver != null) {
            driver.close();
        }
        if (runner != null) {
            runner.close();
        }
        upstream.close();
        jedis.close();
        redis.close();
    }

    /** n recorded calls, each waited for in the store. */
    void recordedCalls(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            GatewayResult r = driver.call(ROUTE, ClientRequest.builder("POST", "/v1/chat/completions")
                    .header("Content-Type", "application/json").body("{\"model\":\"m\",\"n\":" + (calls++) + "}")
                    .remoteAddr("10.0.0.9").build(), upstream);
            assertThat(r.status()).isEqualTo(200);
            waitUntilStored(r.requestId());
        }
    }

    void waitUntilStored(String requestId) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < end) {
            if (entries().stream().anyMatch(e -> e.json().contains(requestId))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("not stored: " + requestId + "\n" + runner.log());
    }

    /** Until the newest stored entry is a checkpoint (the runner signed everything it wrote). */
    void waitForCheckpointAtTheEnd() throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < end) {
            List<StoredEntry> all = entries();
            if (!all.isEmpty() && kind(all.get(all.size() - 1)).equals("checkpoint")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no checkpoint after the last entry\n" + runner.log());
    }

    List<StoredEntry> entries() {
        List<StoredEntry> out = new ArrayList<>();
        new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC()).scan(0, out::add);
        return out;
    }

    static ObjectNode node(StoredEntry e) throws Exception {
        return (ObjectNode) CanonicalJson.parse(e.json());
    }

    static String kind(StoredEntry e) {
        try {
            return node(e).path("kind").asText();
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    void xdel(List<StoredEntry> gone) {
        for (StoredEntry e : gone) {
            jedis.xdel(STREAM, new StreamEntryID(e.position()));
        }
    }

    /** Replaces the whole stream (DEL, then XADD each entry again), as an attacker with Redis write access can. */
    void rewriteStream(List<String> jsonLines) throws Exception {
        jedis.del(STREAM);
        RedisStreamSink sink = new RedisStreamSink(jedis, STREAM, 0, Duration.ZERO, Clock.systemUTC());
        List<ChainedEntry> batch = new ArrayList<>();
        for (String j : jsonLines) {
            JsonNode n = CanonicalJson.parse(j);
            batch.add(new ChainedEntry(n.path("instance").asText(), n.path("seq").asLong(), j));
        }
        sink.write(batch);
    }

    record Run(int code, String out) {
    }

    static Run pamctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out + err.toString());
    }

    Run verifyWithKey() {
        return pamctl("audit", "verify", "--redis", redis.url(), "--public-key", keys[1]);
    }

    HttpResponse<String> controlVerify() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort() + "/v1/audit/verify"))
                .header("Authorization", runner.controlAuthorization()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void cuttingTheTailOfAnEarlierLifetimeIsDetected() throws Exception {
        launch(Map.of());
        recordedCalls(12);
        restart(); // the first lifetime ends with a signed final checkpoint
        List<StoredEntry> firstLifetime = entries();
        recordedCalls(3);
        waitForCheckpointAtTheEnd();
        assertThat(verifyWithKey().code).as(verifyWithKey().out).isZero();

        // cut the first lifetime's last five entries, its final checkpoint included
        xdel(firstLifetime.subList(firstLifetime.size() - 5, firstLifetime.size()));

        Run v = verifyWithKey();
        assertThat(v.code).as(v.out).isEqualTo(1);
        assertThat(v.out).contains("TAMPERED").contains("DELETED");
        HttpResponse<String> api = controlVerify();
        assertThat(api.statusCode()).as(api.body()).isEqualTo(409);
    }

    @Test
    void cuttingTheTailOfTheLiveLifetimeIsDetected() throws Exception {
        launch(Map.of());
        recordedCalls(12);
        waitForCheckpointAtTheEnd();
        List<StoredEntry> all = entries();
        // cut back to a call entry that follows a checkpoint, every later checkpoint included
        int keep = all.size() - 1;
        while (keep > 0 && (kind(all.get(keep)).equals("checkpoint") || !kind(all.get(keep - 1)).equals("checkpoint"))) {
            keep--;
        }
        assertThat(keep).isPositive();
        xdel(all.subList(keep + 1, all.size()));

        // the runner knows its own chain head: its control API sees the cut at once
        HttpResponse<String> api = controlVerify();
        assertThat(api.statusCode()).as(api.body()).isEqualTo(409);
        assertThat(api.body()).contains("DELETED");
        // offline, from the store alone: the newest checkpoint is older than the interval
        // while an entry stored after it is still not covered by any
        Thread.sleep(1500);
        Run v = verifyWithKey();
        assertThat(v.code).as(v.out).isEqualTo(1);
        assertThat(v.out).contains("POSSIBLE_TRUNCATION");
    }

    @Test
    void rewritingAnEntryAndRehashingTheTailIsDetected() throws Exception {
        launch(Map.of());
        recordedCalls(12);
        restart();
        java.util.Set<String> firstLifetime = new java.util.HashSet<>();
        entries().forEach(e -> firstLifetime.add(e.position()));
        recordedCalls(3);
        waitForCheckpointAtTheEnd();
        // the attacker edits the 3rd call of the first lifetime, then re-links everything after
        // it in that lifetime; the signed checkpoints after it cannot be re-signed without the
        // key, so they go, and the sequence numbers are closed up behind them
        List<String> forged = new ArrayList<>();
        String prev = null;
        long seq = 0;
        int callsSeen = 0;
        boolean rewriting = false;
        for (StoredEntry e : entries()) {
            ObjectNode n = node(e);
            if (!firstLifetime.contains(e.position())) {
                forged.add(e.json());
                continue;
            }
            if (n.path("kind").asText().equals("call") && ++callsSeen == 3) {
                rewriting = true;
                n.put("request_outcome", "stop");
            }
            if (rewriting && n.path("kind").asText().equals("checkpoint")) {
                continue;
            }
            if (rewriting) {
                n.put("seq", seq + 1);
                n.put("prev", prev);
                n.remove("hash");
                n.put("hash", HashChain.hashOf(n));
            }
            seq = n.path("seq").asLong();
            prev = n.path("hash").asText();
            forged.add(CanonicalJson.write(n));
        }
        assertThat(rewriting).isTrue();
        rewriteStream(forged);

        // the second lifetime's anchor links to the first lifetime's real last entry: the
        // renumbered chain ends early (DELETED) or points elsewhere (MODIFIED)
        Run v = verifyWithKey();
        assertThat(v.code).as(v.out).isEqualTo(1);
        assertThat(v.out).contains("TAMPERED").containsAnyOf("DELETED", "MODIFIED");
    }

    @Test
    void deletingAWholeLifetimeOrInstanceIsDetected() throws Exception {
        launch(Map.of());
        recordedCalls(6);
        restart();
        List<StoredEntry> firstLifetime = entries();
        recordedCalls(3);
        waitForCheckpointAtTheEnd();
        assertThat(verifyWithKey().code).as(verifyWithKey().out).isZero();

        xdel(firstLifetime);
        Run v = verifyWithKey();
        assertThat(v.code).as(v.out).isEqualTo(1);
        assertThat(v.out).contains("DELETED");

        // everything gone: the store alone cannot tell, the runner that wrote it can
        jedis.del(STREAM);
        HttpResponse<String> api = controlVerify();
        assertThat(api.statusCode()).as(api.body()).isEqualTo(409);
        assertThat(api.body()).contains("DELETED");
    }

    @Test
    void aBogusSignatureIsNotVerifiedWithoutAKey() throws Exception {
        launch(Map.of());
        recordedCalls(3);
        waitForCheckpointAtTheEnd();
        List<String> lines = new ArrayList<>();
        for (StoredEntry e : entries()) {
            ObjectNode n = node(e);
            if (n.path("kind").asText().equals("checkpoint")) {
                n.put("sig", Base64.getEncoder().encodeToString(new byte[64]));
            }
            lines.add(CanonicalJson.write(n));
        }
        rewriteStream(lines);

        Run noKey = pamctl("audit", "verify", "--redis", redis.url());
        assertThat(noKey.code).as(noKey.out).isNotZero();
        assertThat(noKey.out).contains("NOT VERIFIED");
        Run withKey = verifyWithKey();
        assertThat(withKey.code).as(withKey.out).isEqualTo(1);
        assertThat(withKey.out).contains("BAD_SIGNATURE");
    }

    @Test
    void aFreshDiskWithAConfiguredInstanceReanchorsOnTheStore() throws Exception {
        launch(Map.of("PAM_AUDIT_INSTANCE_ID", "gw-1"));
        recordedCalls(4);
        // the runner comes back with an empty disk (a rescheduled pod without a volume)
        driver.close();
        runner.stop();
        spool = Files.createTempDirectory("pam-tamper-fresh-spool");
        launch(Map.of("PAM_AUDIT_INSTANCE_ID", "gw-1"));
        recordedCalls(2);
        waitForCheckpointAtTheEnd();

        Run v = verifyWithKey();
        assertThat(v.code).as(v.out).isZero();
        assertThat(v.out).containsIgnoringCase("re-anchored");
    }

    @Test
    void withoutAConfiguredKeyTheRunnerGeneratesOneSignsWithItAndShowsIt() throws Exception {
        launch(Map.of("PAM_AUDIT_SIGNING_KEY", "", "PAM_AUDIT_VERIFY_KEY", ""));
        recordedCalls(3);
        waitForCheckpointAtTheEnd();
        Path priv = spool.resolve("audit-signing-key");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(priv))).isEqualTo("rw-------");

        HttpResponse<String> key = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + runner.controlPort()
                + "/v1/audit/key")).header("Authorization", runner.controlAuthorization()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(key.statusCode()).as(key.body()).isEqualTo(200);
        String publicKey = CanonicalJson.parse(key.body()).path("public_key").asText();
        assertThat(runner.log()).contains(publicKey); // printed at start
        assertThat(pamctl("audit", "public-key", "--dir", spool.toString()).out).contains("PAM_AUDIT_VERIFY_KEY=" + publicKey);
        assertThat(Files.readString(priv)).doesNotContain(publicKey);
        assertThat(runner.log()).doesNotContain(Files.readString(priv).trim()); // never the private key

        // every checkpoint is signed with it and names it; the runner's own verify uses it
        for (StoredEntry e : entries()) {
            if (kind(e).equals("checkpoint")) {
                assertThat(node(e).path("sig").asText()).isNotEmpty();
                assertThat(node(e).path("key_id").asText()).isEqualTo(CanonicalJson.parse(key.body()).path("key_id").asText());
            }
        }
        Run v = pamctl("audit", "verify", "--redis", redis.url(), "--public-key", publicKey);
        assertThat(v.code).as(v.out).isZero();
        assertThat(controlVerify().statusCode()).isEqualTo(200);

        // and it is the same key after a restart
        restart();
        recordedCalls(1);
        waitForCheckpointAtTheEnd();
        Run after = pamctl("audit", "verify", "--redis", redis.url(), "--public-key", publicKey);
        assertThat(after.code).as(after.out).isZero();
    }
}
