package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** pam-record end to end: real runner process, real redis-server, the APISIX-side driver, a real upstream. */
class PamRecordE2ETest {
    static final String CLIENT_TOKEN = "eyJhbGciOiJSUzI1NiJ9.client-token-never-recorded.sig";
    static final String UPSTREAM_SECRET = "sk-upstream-INJECTED-7f3a9c1e5b";
    static final String COOKIE = "session=cookie-value-never-recorded-42";
    static final String AUTH_CONF = "{\"subject\":\"sub-alice\",\"username\":\"alice\",\"groups\":[\"ml-engineers\"],"
            + "\"client_id\":\"notebook\",\"credential\":\"vllm-prod\",\"credential_version\":\"v3\",\"upstream_secret\":\""
            + UPSTREAM_SECRET + "\",\"deny_models\":[\"gpt-secret\"]}";
    static AuditFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new AuditFixture(Map.of(), true);
    }

    @AfterAll
    static void stop() throws Exception {
        fx.close();
    }

    static RouteConf route(String id, ConfEntry... preAfterRecord) {
        List<ConfEntry> pre = new ArrayList<>();
        pre.add(new ConfEntry("pam-record", "{}"));
        pre.addAll(List.of(preAfterRecord));
        return RouteConf.builder(id).preReq(pre.toArray(ConfEntry[]::new))
                .postResp(new ConfEntry("test-pam-mask", "{}"), new ConfEntry("pam-record", "{}")).build();
    }

    static ClientRequest chat(String model, String content) {
        return ClientRequest.builder("POST", "/v1/chat/completions?api-version=2024-01&api_key=query-secret-value-99")
                .header("Host", "ai-gw.test")
                .header("Authorization", "Bearer " + CLIENT_TOKEN)
                .header("Cookie", COOKIE)
                .header("User-Agent", "OpenAI/Python 1.40.0")
                .header("Content-Type", "application/json")
                .body("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}")
                .remoteAddr("10.0.0.7").build();
    }

    static void assertNoSecrets(String stored) {
        assertThat(stored).doesNotContain(CLIENT_TOKEN).doesNotContain("client-token-never-recorded")
                .doesNotContain(UPSTREAM_SECRET).doesNotContain("cookie-value-never-recorded")
                .doesNotContain("query-secret-value-99");
    }

    @Test
    void anAllowedMaskedCallIsRecordedWithEveryField() throws Exception {
        // The model server answers with an e-mail (masked for the client) and, carelessly, echoes
        // the credential the gateway injected: the record must never hold it.
        fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")),
                "{\"choices\":[{\"message\":{\"content\":\"write to bob@example.com\"}}],\"debug\":\"key="
                        + UPSTREAM_SECRET + "\"}");
        ClientRequest req = chat("llama-3-70b", "héllo \\\"quoted\\\" 東京");
        Instant before = Instant.now();
        GatewayResult r = fx.driver.call(route("rec-allow", new ConfEntry("test-pam-auth", AUTH_CONF)), req, fx.upstream);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.bodyUtf8()).contains("[EMAIL]").doesNotContain("bob@example.com");
        // the credential really was injected upstream (so the scrub below is meaningful)
        assertThat(r.upstreamRequests().get(0).header("authorization")).contains("Bearer " + UPSTREAM_SECRET);

        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("kind").asText()).isEqualTo("call");
        assertThat(rec.path("id").asText()).isEqualTo(r.requestId());
        Instant start = Instant.parse(rec.path("start").asText());
        Instant end = Instant.parse(rec.path("end").asText());
        assertThat(start).isAfterOrEqualTo(before.minusSeconds(1)).isBeforeOrEqualTo(end);
        assertThat(rec.path("latency_us").asLong()).isPositive();
        assertThat(rec.path("route_id").asText()).isEqualTo("rec-allow");
        assertThat(rec.path("principal").path("subject").asText()).isEqualTo("sub-alice");
        assertThat(rec.path("principal").path("username").asText()).isEqualTo("alice");
        assertThat(rec.path("principal").path("groups").get(0).asText()).isEqualTo("ml-engineers");
        assertThat(rec.path("principal").path("client_id").asText()).isEqualTo("notebook");
        assertThat(rec.path("model").asText()).isEqualTo("llama-3-70b");
        JsonNode q = rec.path("request");
        assertThat(q.path("method").asText()).isEqualTo("POST");
        assertThat(q.path("path").asText()).isEqualTo("/v1/chat/completions");
        assertThat(q.path("query").toString()).contains("[\"api-version\",\"2024-01\"]").contains("[\"api_key\",\"[REDACTED]\"]");
        assertThat(q.path("body").asText()).isEqualTo(new String(req.body(), StandardCharsets.UTF_8)); // the exact body
        assertThat(q.path("size").asInt()).isEqualTo(req.body().length);
        assertThat(q.path("client_address").asText()).isEqualTo("10.0.0.7");
        assertThat(q.path("user_agent").asText()).isEqualTo("OpenAI/Python 1.40.0");
        assertThat(q.path("scrubbed_headers").toString()).contains("authorization").contains("cookie");
        assertThat(q.path("headers").toString()).doesNotContain("authorization").doesNotContain("cookie").contains("content-type");
        JsonNode resp = rec.path("response");
        assertThat(resp.path("status").asInt()).isEqualTo(200);
        assertThat(resp.path("upstream_status").asInt()).isEqualTo(200);
        // the delivered (masked) body, with the echoed credential redacted
        assertThat(resp.path("body").asText()).isEqualTo(r.bodyUtf8().replace(UPSTREAM_SECRET, "[REDACTED]"));
        assertThat(resp.path("body_redacted").asBoolean()).isTrue();
        assertThat(resp.path("size").asInt()).isEqualTo(r.body().length);
        assertThat(rec.path("masked").path("email").asInt()).isEqualTo(1);
        assertThat(rec.path("decisions").toString()).contains("\"outcome\":\"allow\"").contains("\"rule_id\":\"entitled\"")
                .contains("\"outcome\":\"mask\"");
        assertThat(rec.path("request_outcome").asText()).isEqualTo("rewrite");
        assertThat(rec.path("rewrite").path("headers_set").toString()).contains("authorization").contains("x-api-key");
        assertThat(rec.path("policy").path("request_conf_sha256").asText()).matches("[0-9a-f]{64}");
        assertThat(rec.path("policy").path("response_conf_sha256").asText()).matches("[0-9a-f]{64}");
        assertThat(rec.path("credential").path("name").asText()).isEqualTo("vllm-prod");
        assertThat(rec.path("credential").path("version").asText()).isEqualTo("v3");
        assertThat(rec.path("approval").isNull()).isTrue();
        assertThat(rec.path("hash").asText()).matches("[0-9a-f]{64}");
        assertNoSecrets(fx.everythingStored());
    }

    @Test
    void aDeniedCallIsRecordedWithTheStopAndWhoStoppedIt() throws Exception {
        fx.upstream.clear();
        GatewayResult r = fx.driver.call(route("rec-deny", new ConfEntry("test-pam-auth", AUTH_CONF)),
                chat("gpt-secret", "exfiltrate"), fx.upstream);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.upstreamRequests()).isEmpty();
        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("request_outcome").asText()).isEqualTo("stop");
        assertThat(rec.path("stopped_by").asText()).isEqualTo("test-pam-auth");
        assertThat(rec.path("response").path("status").asInt()).isEqualTo(403);
        assertThat(rec.path("response").path("source").asText()).isEqualTo("gateway_stop");
        assertThat(rec.path("response").path("body").asText()).isEqualTo(r.bodyUtf8());
        assertThat(rec.path("decisions").toString()).contains("\"outcome\":\"deny\"").contains("model-not-entitled");
        assertThat(rec.path("model").asText()).isEqualTo("gpt-secret");
        assertThat(rec.path("request").path("body").asText()).contains("exfiltrate");
        assertThat(rec.path("policy").path("response_conf_sha256").isNull()).isTrue();
        assertNoSecrets(fx.everythingStored());
    }

    @Test
    void aHeldCallIsRecordedWithItsApproval() throws Exception {
        GatewayResult r = fx.driver.call(route("rec-hold", new ConfEntry("test-pam-auth", AUTH_CONF),
                new ConfEntry("test-pam-hold", "{\"approval_id\":\"apr-77\",\"reviewers\":[\"bob\",\"carol\"]}")),
                chat("llama-3-70b", "drop tables"), fx.upstream);
        assertThat(r.status()).isEqualTo(202);
        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("stopped_by").asText()).isEqualTo("test-pam-hold");
        assertThat(rec.path("response").path("status").asInt()).isEqualTo(202);
        assertThat(rec.path("approval").path("id").asText()).isEqualTo("apr-77");
        assertThat(rec.path("approval").path("reviewers").toString()).isEqualTo("[\"bob\",\"carol\"]");
        assertThat(rec.path("decisions").toString()).contains("\"outcome\":\"hold\"");
    }

    @Test
    void aStopBeforePamRecordInTheConfIsStillRecorded() throws Exception {
        RouteConf route = RouteConf.builder("rec-late").preReq(new ConfEntry("test-stop", "{\"status\":429,\"body\":\"slow down\"}"),
                new ConfEntry("pam-record", "{}")).build();
        GatewayResult r = fx.driver.call(route, chat("m", "x"), fx.upstream);
        assertThat(r.status()).isEqualTo(429);
        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("stopped_by").asText()).isEqualTo("test-stop");
        assertThat(rec.path("response").path("status").asInt()).isEqualTo(429);
        assertThat(rec.path("request").path("captured").asBoolean()).isTrue();
        assertThat(rec.path("request").path("method").asText()).isEqualTo("POST");
    }

    @Test
    void aResponsePhaseFailureIsRecordedAsTheSafeErrorTheClientGot() throws Exception {
        fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), "{\"email\":\"carol@example.com\"}");
        RouteConf route = RouteConf.builder("rec-resp-fail").preReq(new ConfEntry("pam-record", "{}"))
                .postResp(new ConfEntry("test-pam-mask", "{}"), new ConfEntry("test-throw", "{\"phase\":\"response\"}"),
                        new ConfEntry("pam-record", "{}")).build();
        GatewayResult r = fx.driver.call(route, chat("m", "x"), fx.upstream);
        assertThat(r.status()).isEqualTo(503);
        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("response").path("status").asInt()).isEqualTo(503);
        assertThat(rec.path("response").path("upstream_status").asInt()).isEqualTo(200);
        assertThat(rec.path("response").path("source").asText()).isEqualTo("gateway_error");
        assertThat(rec.path("response").path("body").asText()).isEqualTo(r.bodyUtf8()).doesNotContain("carol");
    }

    @Test
    void aCallWhoseResponsePhaseNeverComesIsRecordedAfterTheTimeout() throws Exception {
        // pre-req only: there is no response phase to wait for
        RouteConf route = RouteConf.builder("rec-noresp").preReq(new ConfEntry("pam-record", "{\"response_timeout_ms\":300}")).build();
        GatewayResult r = fx.driver.call(route, chat("m", "x"), fx.upstream);
        assertThat(r.status()).isEqualTo(200);
        JsonNode rec = fx.record(r.requestId());
        assertThat(rec.path("response").path("seen").asBoolean(true)).isFalse();
        assertThat(rec.path("request_outcome").asText()).isEqualTo("pass");
        assertThat(rec.path("request").path("body").asText()).contains("\"model\":\"m\"");
    }

    @Test
    void searchShowExportAndVerifyThroughPamctlAndTheControlApi() throws Exception {
        GatewayResult a = fx.driver.call(route("rec-search", new ConfEntry("test-pam-auth", AUTH_CONF)), chat("llama-3-8b", "a"), fx.upstream);
        GatewayResult d = fx.driver.call(route("rec-search", new ConfEntry("test-pam-auth", AUTH_CONF)), chat("gpt-secret", "b"), fx.upstream);
        fx.record(a.requestId());
        fx.record(d.requestId());
        String redis = fx.redis.url();

        Run s = pamctl("audit", "search", "--redis", redis, "--route", "rec-search", "--decision", "deny");
        assertThat(s.code).isZero();
        assertThat(s.out).contains(d.requestId()).doesNotContain(a.requestId());
        Run m = pamctl("audit", "search", "--redis", redis, "--model", "llama-3-8b", "--principal", "alice",
                "--from", Instant.now().minusSeconds(600).toString());
        assertThat(m.out).contains(a.requestId()).doesNotContain(d.requestId());
        assertThat(pamctl("audit", "search", "--redis", redis, "--model", "llama-3-8b", "--to", "2000-01-01T00:00:00Z").out).isBlank();
        Run show = pamctl("audit", "show", "--redis", redis, a.requestId());
        assertThat(show.code).isZero();
        assertThat(show.out).contains("\"model\" : \"llama-3-8b\"");

        JsonNode viaApi = fx.control("/v1/audit/records?route=rec-search&decision=deny");
        assertThat(viaApi.path("records").toString()).contains(d.requestId()).doesNotContain(a.requestId());
        assertThat(fx.control("/v1/audit/records/" + a.requestId()).path("id").asText()).isEqualTo(a.requestId());
        assertThat(fx.controlStatus("/v1/audit/records/nope")).isEqualTo(404);
        assertThat(fx.control("/v1/audit/records/nope").path("error").path("code").asText()).isEqualTo("record_not_found");
        assertThat(fx.control("/v1/audit/export?format=csv").path("error").path("code").asText()).isEqualTo("unsupported_format");

        Path export = Files.createTempFile("audit", ".jsonl");
        Run ex = pamctl("audit", "export", "--redis", redis, "--format", "jsonl", "-o", export.toString());
        assertThat(ex.code).isZero();
        List<String> lines = Files.readAllLines(export);
        assertThat(lines).anyMatch(l -> l.contains(a.requestId())).anyMatch(l -> l.contains("\"kind\":\"checkpoint\""));
        // the export verifies on its own, offline, with the public key
        Run vf = pamctl("audit", "verify", "--file", export.toString(), "--public-key", fx.keys[1]);
        assertThat(vf.code).as(vf.out).isZero();
        assertThat(vf.out).contains("OK:");
        Run vs = pamctl("audit", "verify", "--redis", redis, "--public-key", fx.keys[1], "--complete");
        assertThat(vs.code).as(vs.out).isZero();
        assertThat(fx.control("/v1/audit/export?format=jsonl&route=rec-search").isObject()).isTrue(); // first line parses
        assertThat(fx.controlStatus("/v1/audit/verify")).isEqualTo(200);
    }

    @Test
    void tamperingWithTheStreamIsDetectedAndLocated() throws Exception {
        for (int i = 0; i < 6; i++) {
            fx.record(fx.driver.call(route("rec-tamper", new ConfEntry("test-pam-auth", AUTH_CONF)), chat("m", "t" + i), fx.upstream).requestId());
        }
        Thread.sleep(400); // a checkpoint after the last records
        fx.driver.call(route("rec-tamper", new ConfEntry("test-pam-auth", AUTH_CONF)), chat("m", "tail"), fx.upstream);
        Thread.sleep(400);
        List<StoredEntry> original = fx.entries();
        // pick a call entry well inside the chain
        int target = -1;
        for (int i = original.size() / 2; i < original.size(); i++) {
            if (original.get(i).json().contains("\"kind\":\"call\"")) {
                target = i;
                break;
            }
        }
        assertThat(target).isPositive();
        long seq = new com.fasterxml.jackson.databind.ObjectMapper().readTree(original.get(target).json()).path("seq").asLong();

        // modified: an attacker with Redis access rewrites the stream with one record edited
        List<StoredEntry> modified = new ArrayList<>(original);
        modified.set(target, new StoredEntry("", original.get(target).json().replace("\"status\":200", "\"status\":201")));
        expectFinding(modified, "tampered:modified", ChainVerifier.Kind.MODIFIED, seq);
        // deleted
        List<StoredEntry> deleted = new ArrayList<>(original);
        deleted.remove(target);
        expectFinding(deleted, "tampered:deleted", ChainVerifier.Kind.DELETED, seq);
        // inserted: a forged record without chain fields
        List<StoredEntry> inserted = new ArrayList<>(original);
        inserted.add(target, new StoredEntry("", "{\"kind\":\"call\",\"id\":\"forged\",\"status\":200}"));
        expectFinding(inserted, "tampered:inserted", ChainVerifier.Kind.INSERTED, -1);
        // reordered
        List<StoredEntry> reordered = new ArrayList<>(original);
        StoredEntry t = reordered.get(target);
        reordered.set(target, reordered.get(target + 1));
        reordered.set(target + 1, t);
        expectFinding(reordered, "tampered:reordered", ChainVerifier.Kind.REORDERED, seq);
        // the real stream is still clean
        assertThat(pamctl("audit", "verify", "--redis", fx.redis.url(), "--public-key", fx.keys[1]).code).isZero();
    }

    /** Writes {@code entries} as a new stream (as an attacker with Redis access could) and runs pamctl audit verify on it. */
    private void expectFinding(List<StoredEntry> entries, String key, ChainVerifier.Kind kind, long seq) throws Exception {
        RedisStreamSink copy = new RedisStreamSink(fx.jedis, "pam:{audit}:" + key, 0, Duration.ZERO, Clock.systemUTC());
        List<ChainedEntry> batch = new ArrayList<>();
        for (StoredEntry e : entries) {
            batch.add(new ChainedEntry("x", 0, e.json()));
        }
        copy.write(batch);
        Run v = pamctl("audit", "verify", "--redis", fx.redis.url(), "--stream", "pam:{audit}:" + key, "--public-key", fx.keys[1]);
        assertThat(v.code).as(v.out).isEqualTo(1);
        assertThat(v.out).contains("TAMPERED");
        if (seq > 0) {
            assertThat(v.out).as(v.out).containsPattern(Pattern.quote(kind.name()) + " instance=\\S+ seq=" + seq + "\\b");
        } else {
            assertThat(v.out).as(v.out).contains(kind.name());
        }
        Optional<java.security.PublicKey> key1 = Optional.of(CheckpointSigner.publicKeyFromBase64(fx.keys[1]));
        assertThat(new AuditQuery(copy).verify(key1, false).findings()).extracting(ChainVerifier.Finding::kind).contains(kind);
    }

    record Run(int code, String out) {
    }

    static Run pamctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out + err.toString());
    }
}
