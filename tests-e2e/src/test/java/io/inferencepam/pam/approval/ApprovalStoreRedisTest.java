package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.e2e.support.RedisServer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;

/**
 * The approval scripts against a real redis-server: exactly-once use, joins, the principal cap,
 * expiry on Redis' clock, and the reviewers' rules, including many concurrent callers.
 */
class ApprovalStoreRedisTest {
    static RedisServer redis;
    static JedisPooled jedis;
    static ApprovalStore store;
    static final SecureRandom RANDOM = new SecureRandom();
    static final String ISS = "https://idp.test";

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        jedis = new JedisPooled(java.net.URI.create(redis.url()), 2000);
        store = new ApprovalStore(jedis);
    }

    @AfterAll
    static void stop() throws Exception {
        jedis.close();
        redis.close();
    }

    record Who(String sub, String name, List<String> groups) {
        String key() {
            return ISS + "\n" + sub;
        }

        String tag() {
            return ApprovalKeys.principalTag(new io.inferencepam.pam.core.Principal(ISS, sub, name, groups, ""));
        }

        ApprovalStore.Reviewer reviewer() {
            return new ApprovalStore.Reviewer(key(), sub, name, groups);
        }
    }

    static int n;

    static Who person(String name, String... groups) {
        return new Who("sub-" + name + "-" + (n++), name, List.of(groups));
    }

    static ApprovalStore.Outcome admit(Who who, String fp, ApprovalStore.Mode mode, String named, Duration ttl, int max) {
        Map<String, byte[]> fields = new LinkedHashMap<>();
        fields.put("body", "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8));
        fields.put("required", "1".getBytes(StandardCharsets.UTF_8));
        fields.put("reviewer_groups", "[\"reviewers\"]".getBytes(StandardCharsets.UTF_8));
        return store.admit(new ApprovalStore.Admit(mode, named, who.key(), who.tag(), fp,
                ApprovalKeys.newId(who.tag(), RANDOM), ttl, Duration.ofMinutes(5), max, fields));
    }

    static ApprovalStore.Outcome admit(Who who, String fp) {
        return admit(who, fp, ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 5);
    }

    static void required(String id, int n) {
        jedis.hset(ApprovalKeys.approval(id), "required", Integer.toString(n));
    }

    @Test
    void approvedOnceUsedOnceThenRefusedAndANewOneOnRequest() {
        Who bob = person("bob");
        Who rita = person("rita", "reviewers");
        ApprovalStore.Outcome held = admit(bob, "fp1");
        assertThat(held.verdict()).isEqualTo(ApprovalStore.Verdict.CREATED);
        assertThat(admit(bob, "fp1").verdict()).as("identical repeat while pending").isEqualTo(ApprovalStore.Verdict.JOINED);
        assertThat(admit(bob, "fp1").id()).isEqualTo(held.id());
        assertThat(store.pendingIds(System.currentTimeMillis(), 100)).contains(held.id());
        assertThat(store.decide(held.id(), true, rita.reviewer(), "ok").result()).isEqualTo(ApprovalStore.DecideResult.APPROVED);
        assertThat(store.pendingIds(System.currentTimeMillis(), 100)).doesNotContain(held.id());
        ApprovalStore.Outcome used = admit(bob, "fp1");
        assertThat(used.verdict()).isEqualTo(ApprovalStore.Verdict.CONSUMED);
        assertThat(used.approvalsJson()).contains("\"name\":\"rita\"").contains("\"reason\":\"ok\"");
        assertThat(admit(bob, "fp1").verdict()).as("replay by fingerprint").isEqualTo(ApprovalStore.Verdict.USED);
        assertThat(admit(bob, "fp1", ApprovalStore.Mode.NAMED, held.id(), Duration.ofMinutes(10), 5).verdict())
                .as("replay by id").isEqualTo(ApprovalStore.Verdict.USED);
        ApprovalStore.Outcome again = admit(bob, "fp1", ApprovalStore.Mode.NEW, null, Duration.ofMinutes(10), 5);
        assertThat(again.verdict()).isEqualTo(ApprovalStore.Verdict.CREATED);
        assertThat(again.id()).isNotEqualTo(held.id());
    }

    @Test
    void namedUseChecksPrincipalAndFingerprint() {
        Who bob = person("bob");
        Who eve = person("eve");
        Who rita = person("rita", "reviewers");
        ApprovalStore.Outcome held = admit(bob, "fpA");
        store.decide(held.id(), true, rita.reviewer(), "fine");
        assertThat(admit(bob, "fpB", ApprovalStore.Mode.NAMED, held.id(), Duration.ofMinutes(10), 5).verdict())
                .as("changed body").isEqualTo(ApprovalStore.Verdict.MISMATCH);
        // eve presents bob's id: the keys are bob's (the id carries the tag); the script compares the full principal
        Map<String, byte[]> f = Map.of("body", new byte[0]);
        ApprovalStore.Outcome stolen = store.admit(new ApprovalStore.Admit(ApprovalStore.Mode.NAMED, held.id(), eve.key(),
                bob.tag(), "fpA", ApprovalKeys.newId(bob.tag(), RANDOM), Duration.ofMinutes(10), Duration.ofMinutes(5), 5, f));
        assertThat(stolen.verdict()).isEqualTo(ApprovalStore.Verdict.NOT_YOURS);
        String unknown = ApprovalKeys.newId(bob.tag(), RANDOM);
        assertThat(admit(bob, "fpA", ApprovalStore.Mode.NAMED, unknown, Duration.ofMinutes(10), 5).verdict())
                .isEqualTo(ApprovalStore.Verdict.NOT_FOUND);
        assertThat(admit(bob, "fpA", ApprovalStore.Mode.NAMED, held.id(), Duration.ofMinutes(10), 5).verdict())
                .isEqualTo(ApprovalStore.Verdict.CONSUMED);
    }

    @Test
    void reviewersRules() {
        Who dana = person("dana", "ml-engineers", "reviewers");
        Who rita = person("rita", "reviewers");
        Who ravi = person("ravi", "reviewers");
        Who carl = person("carl", "analysts");
        ApprovalStore.Outcome held = admit(dana, "fp");
        required(held.id(), 2);
        assertThat(store.decide(held.id(), true, dana.reviewer(), "me").result()).isEqualTo(ApprovalStore.DecideResult.SELF);
        assertThat(store.decide(held.id(), true, carl.reviewer(), "x").result()).isEqualTo(ApprovalStore.DecideResult.NOT_ELIGIBLE);
        assertThat(store.decide(held.id(), true, rita.reviewer(), "1").result()).isEqualTo(ApprovalStore.DecideResult.RECORDED);
        assertThat(admit(dana, "fp").verdict()).as("one of two approvals: still pending").isEqualTo(ApprovalStore.Verdict.JOINED);
        assertThat(store.decide(held.id(), true, rita.reviewer(), "again").result()).isEqualTo(ApprovalStore.DecideResult.TWICE);
        ApprovalStore.Decided done = store.decide(held.id(), true, ravi.reviewer(), "2");
        assertThat(done.result()).isEqualTo(ApprovalStore.DecideResult.APPROVED);
        assertThat(done.approvals()).isEqualTo(2);
        assertThat(store.decide(held.id(), false, ravi.reviewer(), "late").result()).isEqualTo(ApprovalStore.DecideResult.DECIDED);

        ApprovalStore.Outcome second = admit(dana, "fp2");
        assertThat(store.decide(second.id(), false, rita.reviewer(), "no").result()).isEqualTo(ApprovalStore.DecideResult.DENIED);
        assertThat(store.decide(second.id(), true, ravi.reviewer(), "yes").result()).isEqualTo(ApprovalStore.DecideResult.DECIDED);
        assertThat(admit(dana, "fp2").verdict()).isEqualTo(ApprovalStore.Verdict.DENIED);
        assertThat(new String(store.get(second.id()).orElseThrow().get("deny_reason"), StandardCharsets.UTF_8)).isEqualTo("no");
        assertThat(store.decide(ApprovalKeys.newId(dana.tag(), RANDOM), true, rita.reviewer(), "?").result())
                .isEqualTo(ApprovalStore.DecideResult.NOT_FOUND);
    }

    @Test
    void expiryFollowsRedisClock() throws Exception {
        Who bob = person("bob");
        Who rita = person("rita", "reviewers");
        ApprovalStore.Outcome held = admit(bob, "fpx", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMillis(300), 5);
        ApprovalStore.Outcome late = admit(bob, "fpy", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMillis(300), 5);
        store.decide(late.id(), true, rita.reviewer(), "in time");
        Thread.sleep(400);
        assertThat(store.decide(held.id(), true, rita.reviewer(), "too late").result()).isEqualTo(ApprovalStore.DecideResult.EXPIRED);
        assertThat(admit(bob, "fpy", ApprovalStore.Mode.NAMED, late.id(), Duration.ofMinutes(1), 5).verdict())
                .as("approved, but not used before expiry").isEqualTo(ApprovalStore.Verdict.EXPIRED);
        ApprovalStore.Outcome fresh = admit(bob, "fpx");
        assertThat(fresh.verdict()).as("an expired approval makes room for a new one").isEqualTo(ApprovalStore.Verdict.CREATED);
        assertThat(jedis.pttl(ApprovalKeys.approval(held.id()))).as("kept for its retention").isPositive();
    }

    @Test
    void capOfOpenApprovalsPerPrincipal() {
        Who bob = person("bob");
        Who rita = person("rita", "reviewers");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(admit(bob, "cap" + i, ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 3).id());
        }
        assertThat(admit(bob, "cap3", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 3).verdict())
                .isEqualTo(ApprovalStore.Verdict.LIMIT);
        assertThat(admit(bob, "cap0", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 3).verdict())
                .as("joining is not opening").isEqualTo(ApprovalStore.Verdict.JOINED);
        store.decide(ids.get(0), false, rita.reviewer(), "no");
        assertThat(admit(bob, "cap3", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 3).verdict())
                .as("a denial frees a place").isEqualTo(ApprovalStore.Verdict.CREATED);
        assertThat(admit(person("alice"), "cap9", ApprovalStore.Mode.FINGERPRINT, null, Duration.ofMinutes(10), 3).verdict())
                .as("per principal").isEqualTo(ApprovalStore.Verdict.CREATED);
    }

    @Test
    void concurrentRepeatsOneApprovalOneRun() throws Exception {
        Who bob = person("bob");
        Who rita = person("rita", "reviewers");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            // 32 identical first calls at once: one approval, never two
            List<ApprovalStore.Outcome> first = race(pool, 32, () -> admit(bob, "race"));
            assertThat(first.stream().map(ApprovalStore.Outcome::id).distinct()).hasSize(1);
            assertThat(first.stream().filter(o -> o.verdict() == ApprovalStore.Verdict.CREATED)).hasSize(1);
            store.decide(first.get(0).id(), true, rita.reviewer(), "go");
            // 32 identical repeats at once: exactly one runs
            List<ApprovalStore.Outcome> repeats = race(pool, 32, () -> admit(bob, "race"));
            assertThat(repeats.stream().filter(o -> o.verdict() == ApprovalStore.Verdict.CONSUMED)).hasSize(1);
            assertThat(repeats.stream().filter(o -> o.verdict() == ApprovalStore.Verdict.USED)).hasSize(31);
        } finally {
            pool.shutdownNow();
        }
    }

    static <T> List<T> race(ExecutorService pool, int n, Callable<T> task) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(pool.submit(() -> {
                go.await();
                return task.call();
            }));
        }
        go.countDown();
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            out.add(f.get());
        }
        return out;
    }
}
