package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.LocalIssuer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.params.ZAddParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * No approval step is lost to a runner that stops between two Redis writes, and a step written
 * twice is shown once (issue 12). A crash is simulated without fault injection: the writes a
 * runner makes before the crash point are made against real Redis with the production scripts
 * (or, for the state a crash leaves in the cross-slot indexes, written as that state), then a
 * real recording runner — whose expiry sweep runs every 200 ms while it has work — finds it.
 * The runner's own chain is then checked by {@code pamctl audit verify}, and what people read by
 * {@code pamctl audit search --approval} and {@code pamctl audit export --approval}.
 */
class ApprovalTrailCrashE2ETest {
    static final String[] KEYS = CheckpointSigner.generate();
    static final String STREAM = "pam:{audit}:records";
    /** The key as a literal: the state a crash leaves is written as such (redis-schema/README.md). */
    static final String OPENING = "pam:{approvals}:opening";
    static final SecureRandom RANDOM = new SecureRandom();
    static LocalIssuer idp;
    static RedisServer redis;
    static JedisPooled jedis;
    static RunnerProcess recording;
    static RunnerProcess plain;
    static ApisixDriver driver;
    static ApisixDriver plainDriver;
    static EchoUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        idp = new LocalIssuer();
        redis = RedisServer.start();
        jedis = new JedisPooled(java.net.URI.create(redis.url()), 2000);
        recording = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url(), "PAM_AUDIT_SIGNING_KEY", KEYS[0],
                "PAM_AUDIT_VERIFY_KEY", KEYS[1], "PAM_AUDIT_CHECKPOINT_INTERVAL_MS", "300",
                "PAM_APPROVAL_EXPIRY_SWEEP_MAX_MS", "200"));
        // a runner that does not record (no spool directory): it writes no events and does not sweep
        plain = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url(), "PAM_AUDIT_SPOOL_DIR", ""));
        driver = new ApisixDriver(recording.socket());
        plainDriver = new ApisixDriver(plain.socket());
        upstream = EchoUpstream.start();
        // readiness: on a loaded host a route's first PrepareConf or JWKS fetch may miss its deadline (503)
        for (ApisixDriver d : List.of(driver, plainDriver)) {
            RouteConf r = d == driver ? route() : plainRoute();
            GatewayResult g = call(d, r, "warm", "open-model");
            for (int i = 0; i < 60 && g.status() == 503; i++) {
                Thread.sleep(1000);
                g = call(d, r, "warm", "open-model");
            }
            assertThat(g.status()).as(g.bodyUtf8()).isEqualTo(200);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {driver, plainDriver, upstream, recording, plain, jedis, redis, idp}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static String approvalConf() {
        return "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":0}";
    }

    static String authConf() {
        return "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"all\",\"groups\":[\"analysts\"],\"allow\":[\"*\"]}]}";
    }

    static RouteConf route() {
        return RouteConf.builder("crash-rec").preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("pam-auth", authConf()),
                new ConfEntry("pam-approval", approvalConf())).postResp(new ConfEntry("pam-record", "{}")).build();
    }

    static RouteConf plainRoute() {
        return RouteConf.builder("crash-plain").preReq(new ConfEntry("pam-auth", authConf()),
                new ConfEntry("pam-approval", approvalConf())).build();
    }

    static GatewayResult call(ApisixDriver d, RouteConf route, String user, String model) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
        return d.call(route, ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + idp.token(user, "inference", List.of("analysts")))
                .header("Content-Type", "application/json").body(body).build(), upstream);
    }

    /** A new approval opened by the recording runner (it also keeps its sweep running). */
    static String hold(String user) throws Exception {
        return ApprovalFixture.heldId(call(driver, route(), user, "secret-" + UUID.randomUUID().toString().substring(0, 8)));
    }

    static String user() {
        return "u-" + UUID.randomUUID().toString().substring(0, 8);
    }

    // ---- the trail, as people read it and as stored

    record Run(int code, String out) {
    }

    static Run pamctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out + err.toString());
    }

    static List<JsonNode> lines(String text) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("{")) {
                out.add(CanonicalJson.parse(line));
            }
        }
        return out;
    }

    /** {@code pamctl audit search --approval}. */
    static List<JsonNode> story(String id) throws Exception {
        Run r = pamctl("audit", "search", "--redis", redis.url(), "--approval", id, "--limit", "1000");
        assertThat(r.code()).as(r.out()).isZero();
        return lines(r.out());
    }

    /** Every stored entry of this approval's own events, repeats included. */
    static List<JsonNode> stored(String id) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (StreamEntry e : jedis.xrange(STREAM, "-", "+")) {
            String r = e.getFields().get("r");
            if (r != null && r.contains(id)) {
                JsonNode n = CanonicalJson.parse(r);
                if ("approval".equals(n.path("kind").asText()) && id.equals(n.path("approval_id").asText())) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    static List<JsonNode> events(List<JsonNode> story, String event) {
        return story.stream().filter(n -> "approval".equals(n.path("kind").asText()) && event.equals(n.path("event").asText()))
                .toList();
    }

    static void await(String what, BooleanSupplier done) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime() < end).as("within 30 s: " + what).isTrue();
            Thread.sleep(100);
        }
    }

    static int storedCount(String id, String event) {
        try {
            return events(stored(id), event).size();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void verifies() {
        Run verify = pamctl("audit", "verify", "--redis", redis.url(), "--public-key", KEYS[1]);
        assertThat(verify.code()).as(verify.out()).isZero();
    }

    /** Time travel on Redis' clock as the sweep sees it: the member falls due now (if it is there). */
    static void due(String key, String id) {
        jedis.zadd(key, System.currentTimeMillis() - 1000, id, ZAddParams.zAddParams().xx());
    }

    static void expireNow(String id) {
        long past = System.currentTimeMillis() - 1000;
        jedis.hset(ApprovalKeys.approval(id), "expires_ms", Long.toString(past));
        jedis.zadd(ApprovalKeys.EXPIRIES, past, id);
    }

    // ---- the crash points

    @Test
    void aRunnerStoppedRightAfterTheAdmitScriptLosesNoStepTheSweepWritesHeldListsItAndLaterItsExpiry() throws Exception {
        // what the dead runner wrote: everything the store does for a held call, and nothing after it (no held event)
        ApprovalStore store = new ApprovalStore(jedis, true);
        Principal bob = new Principal(idp.issuer, user(), "bob", List.of("analysts"), "sdk");
        String tag = ApprovalKeys.principalTag(bob);
        Map<String, byte[]> fields = new LinkedHashMap<>();
        for (String[] kv : new String[][] {{"route", "crash-rec"}, {"request_id", "req-crashed-1"}, {"model", "secret-crash"},
                {"iss", bob.issuer()}, {"sub", bob.subject()}, {"username", "bob"}, {"client", "sdk"}, {"rules", "[\"sensitive\"]"},
                {"required", "1"}, {"reviewer_groups", "[\"reviewers\"]"}, {"method", "POST"}, {"path", "/v1/chat/completions"},
                {"body", "{}"}}) {
            fields.put(kv[0], kv[1].getBytes(StandardCharsets.UTF_8));
        }
        String fp = HexFormat.of().formatHex(ApprovalKeys.sha256(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8)));
        ApprovalStore.Outcome o = store.admit(new ApprovalStore.Admit(ApprovalStore.Mode.FINGERPRINT, null, ApprovalKeys.principalKey(bob),
                tag, fp, ApprovalKeys.newId(tag, RANDOM), Duration.ofHours(1), Duration.ofMinutes(5), 5, fields));
        assertThat(o.verdict()).isEqualTo(ApprovalStore.Verdict.CREATED);
        String id = o.id();
        due(OPENING, id); // the grace a live runner has to write held is over
        hold(user()); // the recording runner is busy with approvals of its own: its sweep runs

        await("held written by the sweep", () -> storedCount(id, "held") >= 1);
        List<JsonNode> s = story(id);
        JsonNode held = events(s, "held").get(0);
        assertThat(events(s, "held")).hasSize(1);
        assertThat(held.path("event_id").asText()).isEqualTo(id + ":held");
        assertThat(held.path("request_id").asText()).isEqualTo("req-crashed-1");
        assertThat(held.path("route_id").asText()).isEqualTo("crash-rec");
        assertThat(held.path("principal").path("username").asText()).isEqualTo("bob");
        assertThat(held.path("rules").toString()).isEqualTo("[\"sensitive\"]");
        assertThat(held.path("fingerprint").asText()).isEqualTo(fp);
        assertThat(held.path("required").asInt()).isEqualTo(1);
        assertThat(held.path("expires_at").asText()).isEqualTo(java.time.Instant.ofEpochMilli(o.expiresMillis()).toString());
        assertThat(held.path("recovered").asBoolean()).isTrue();
        assertThat(jedis.zscore(ApprovalKeys.PENDING_INDEX, id)).as("listed for reviewers").isEqualTo((double) o.expiresMillis());
        assertThat(jedis.zscore(ApprovalKeys.EXPIRIES, id)).as("its expiry is tracked").isEqualTo((double) o.expiresMillis());
        assertThat(jedis.zscore(OPENING, id)).as("done with").isNull();

        expireNow(id);
        await("expired written", () -> storedCount(id, "expired") >= 1);
        s = story(id);
        assertThat(events(s, "held")).hasSize(1);
        assertThat(events(s, "expired")).hasSize(1);
        assertThat(events(s, "expired").get(0).path("state_at_expiry").asText()).isEqualTo("pending");
        verifies();
    }

    @Test
    void aRunnerStoppedBeforeTheAdmitScriptLeavesNothingTheSweepForgetsTheId() throws Exception {
        // the dead runner listed a new id in the opening set, then never ran the admit script
        String tag = ApprovalKeys.principalTag(new Principal(idp.issuer, user(), "x", List.of(), ""));
        String id = ApprovalKeys.newId(tag, RANDOM);
        jedis.zadd(OPENING, System.currentTimeMillis() - 1000, id);
        hold(user());
        await("the never-created id leaves the opening set", () -> jedis.zscore(OPENING, id) == null);
        assertThat(stored(id)).as("no event for an approval that never existed").isEmpty();
        assertThat(jedis.exists(ApprovalKeys.approval(id))).isFalse();
        assertThat(jedis.zscore(ApprovalKeys.PENDING_INDEX, id)).isNull();
        assertThat(jedis.zscore(ApprovalKeys.EXPIRIES, id)).isNull();
    }

    @Test
    void aRunnerStoppedAfterWritingHeldBeforeRecordingItHasHeldTwiceInTheChainAndOnceForReaders() throws Exception {
        String id = hold(user());
        await("held written", () -> storedCount(id, "held") == 1);
        assertThat(jedis.zscore(OPENING, id)).as("the runner recorded that held is written").isNull();
        // the state the runner leaves when it stops after handing held over and before recording that it did
        jedis.zadd(OPENING, System.currentTimeMillis() - 1000, id);
        await("held written again by the sweep", () -> storedCount(id, "held") == 2);
        await("the sweep is done with it", () -> jedis.zscore(OPENING, id) == null);
        List<JsonNode> twice = events(stored(id), "held");
        assertThat(twice).extracting(n -> n.path("event_id").asText()).containsOnly(id + ":held");

        assertThat(events(story(id), "held")).as("search shows the step once").hasSize(1);
        Run export = pamctl("audit", "export", "--redis", redis.url(), "--approval", id);
        assertThat(export.code()).as(export.out()).isZero();
        assertThat(events(lines(export.out()), "held")).as("a filtered export shows it once").hasSize(1);
        Run verify = pamctl("audit", "verify", "--redis", redis.url(), "--public-key", KEYS[1]);
        assertThat(verify.code()).as("both entries are in the chain: " + verify.out()).isZero();
        assertThat(verify.out()).contains("stored more than once with the same event_id");
    }

    @Test
    void anExpiryWrittenAgainAfterALostRemovalIsShownOnceAndTheChainVerifies() throws Exception {
        String id = hold(user());
        expireNow(id);
        await("expired written", () -> storedCount(id, "expired") == 1);
        await("and its member removed", () -> jedis.zscore(ApprovalKeys.EXPIRIES, id) == null);
        // a runner killed after handing expired to its writer and before removing the member: after the lease the
        // member is claimed again (the lease's end is written as the score the claim left)
        jedis.zadd(ApprovalKeys.EXPIRIES, System.currentTimeMillis() - 1000, id);
        await("expired written a second time", () -> storedCount(id, "expired") == 2);
        assertThat(events(stored(id), "expired")).extracting(n -> n.path("event_id").asText()).containsOnly(id + ":expired");

        List<JsonNode> s = story(id);
        assertThat(events(s, "expired")).as("search: " + s).hasSize(1);
        assertThat(events(s, "held")).hasSize(1);
        Run export = pamctl("audit", "export", "--redis", redis.url(), "--approval", id);
        assertThat(events(lines(export.out()), "expired")).hasSize(1);
        Run all = pamctl("audit", "export", "--redis", redis.url());
        assertThat(events(lines(all.out()), "expired").stream().filter(n -> id.equals(n.path("approval_id").asText())))
                .as("an export of the whole chain keeps both entries (it verifies)").hasSize(2);
        verifies();
    }

    @Test
    void aConsumedApprovalCostsNoZremOutsideTheScriptsOnARunnerThatDoesNotRecord() throws Exception {
        String user = user();
        String model = "secret-" + UUID.randomUUID().toString().substring(0, 8);
        String id = ApprovalFixture.heldId(call(plainDriver, plainRoute(), user, model));
        assertThat(jedis.zscore(ApprovalKeys.EXPIRIES, id)).as("a runner that does not record tracks no expiry").isNull();
        ApprovalStore store = new ApprovalStore(jedis);
        assertThat(store.decide(id, true, new ApprovalStore.Reviewer(idp.issuer + "\nrita", "rita", "rita", List.of("reviewers")),
                "ok").result()).isEqualTo(ApprovalStore.DecideResult.APPROVED);
        long before = zremCalls();
        GatewayResult run = call(plainDriver, plainRoute(), user, model);
        long after = zremCalls();
        assertThat(run.status()).as(run.bodyUtf8()).isEqualTo(200);
        // one ZREM: the admit script's own (the principal's open set); none for the expiry set it never joined
        assertThat(after - before).as("ZREM calls before " + before + ", after " + after).isEqualTo(1);
    }

    /** ZREM calls the server has run (scripts' own included), from INFO commandstats. */
    static long zremCalls() {
        String stats = new String((byte[]) jedis.sendCommand(Protocol.Command.INFO, "commandstats"),
                StandardCharsets.UTF_8);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_zrem:calls=(\\d+)").matcher(stats);
        assertThat(m.find()).as(stats).isTrue();
        return Long.parseLong(m.group(1));
    }
}
