package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.core.Principal;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.util.JedisClusterCRC16;

/**
 * The approval scripts on a real three-master Redis Cluster, through Jedis' cluster client: every
 * multi-key script stays within one slot (no CROSSSLOT), approvals of different principals live
 * on different nodes, use is exactly once under concurrency, the reviewers' index on its own slot
 * works, and a decision published by the node that holds the approval reaches a subscriber
 * connected to another node (how a runner holding a call live learns about it).
 */
class ApprovalClusterTest {
    static ApprovalRedisCluster cluster;
    static JedisCluster jedis;
    static ApprovalStore store;
    static final SecureRandom RANDOM = new SecureRandom();
    static final String ISS = "https://idp.cluster.test";

    @BeforeAll
    static void start() throws Exception {
        cluster = ApprovalRedisCluster.start(3);
        jedis = new JedisCluster(new HostAndPort("127.0.0.1", cluster.ports().get(0)), 2000);
        store = new ApprovalStore(jedis);
    }

    @AfterAll
    static void stop() {
        if (jedis != null) {
            jedis.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static Principal principal(String sub) {
        return new Principal(ISS, sub, sub, List.of(), "");
    }

    static ApprovalStore.Outcome admit(Principal p, String fp, ApprovalStore.Mode mode, String named) {
        String tag = ApprovalKeys.principalTag(p);
        Map<String, byte[]> fields = new LinkedHashMap<>();
        fields.put("body", "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8));
        fields.put("required", "1".getBytes(StandardCharsets.UTF_8));
        fields.put("reviewer_groups", "[\"reviewers\"]".getBytes(StandardCharsets.UTF_8));
        return store.admit(new ApprovalStore.Admit(mode, named, ApprovalKeys.principalKey(p), tag, fp,
                ApprovalKeys.newId(tag, RANDOM), Duration.ofMinutes(10), Duration.ofMinutes(5), 5, fields));
    }

    static ApprovalStore.Reviewer rita() {
        return new ApprovalStore.Reviewer(ISS + "\nsub-rita", "sub-rita", "rita", List.of("reviewers"));
    }

    /** The port of the master serving {@code key}'s slot. */
    static int nodeOf(String key) throws Exception {
        int slot = JedisClusterCRC16.getSlot(key);
        for (int port : cluster.ports()) {
            String nodes = ApprovalRedisCluster.cli(port, "cluster", "nodes");
            for (String line : nodes.split("\n")) {
                if (line.contains("myself")) {
                    String[] f = line.trim().split(" ");
                    for (int i = 8; i < f.length; i++) {
                        String[] range = f[i].split("-");
                        int lo = Integer.parseInt(range[0]);
                        int hi = range.length > 1 ? Integer.parseInt(range[1]) : lo;
                        if (slot >= lo && slot <= hi) {
                            return port;
                        }
                    }
                }
            }
        }
        throw new IllegalStateException("no node for slot " + slot);
    }

    /** Principals until their approvals live on {@code count} different masters. */
    static List<Principal> spreadOverNodes(int count) throws Exception {
        List<Principal> out = new ArrayList<>();
        Set<Integer> used = new HashSet<>();
        for (int i = 0; out.size() < count && i < 1000; i++) {
            Principal p = principal("user-" + i);
            int node = nodeOf(ApprovalKeys.open(ApprovalKeys.principalTag(p)));
            if (used.add(node)) {
                out.add(p);
            }
        }
        return out;
    }

    @Test
    void aRecordingRunnersStepsStayWithinTheirSlotsOpeningListingSettlingAndTheSweepsClaim() throws Exception {
        ApprovalStore recording = new ApprovalStore(jedis, true);
        Principal p = principal("rec-" + RANDOM.nextInt(1_000_000));
        String tag = ApprovalKeys.principalTag(p);
        Map<String, byte[]> fields = new LinkedHashMap<>();
        fields.put("required", "1".getBytes(StandardCharsets.UTF_8));
        fields.put("reviewer_groups", "[\"reviewers\"]".getBytes(StandardCharsets.UTF_8));
        ApprovalStore.Admit first = new ApprovalStore.Admit(ApprovalStore.Mode.FINGERPRINT, null, ApprovalKeys.principalKey(p), tag,
                "fp-rec", ApprovalKeys.newId(tag, RANDOM), Duration.ofMinutes(10), Duration.ofMinutes(5), 5, fields);
        ApprovalStore.Outcome o = recording.admit(first); // 'open' ({approvals}), admit ({<p>}), 'list' ({approvals})
        assertThat(o.verdict()).isEqualTo(ApprovalStore.Verdict.CREATED);
        assertThat(jedis.zscore(ApprovalKeys.OPENING, o.id())).as("until held is written").isNotNull();
        assertThat(jedis.zscore(ApprovalKeys.EXPIRIES, o.id())).isEqualTo((double) o.expiresMillis());
        recording.heldRecorded(o.id());
        assertThat(jedis.zscore(ApprovalKeys.OPENING, o.id())).isNull();
        // a repeat joins without listing its own new id; one with a new id that is not used leaves none behind
        ApprovalStore.Admit repeat = new ApprovalStore.Admit(ApprovalStore.Mode.FINGERPRINT, null, ApprovalKeys.principalKey(p), tag,
                "fp-rec", ApprovalKeys.newId(tag, RANDOM), Duration.ofMinutes(10), Duration.ofMinutes(5), 5, fields);
        assertThat(recording.admit(repeat).verdict()).isEqualTo(ApprovalStore.Verdict.JOINED);
        assertThat(jedis.zscore(ApprovalKeys.OPENING, repeat.newId())).isNull();
        jedis.zadd(ApprovalKeys.OPENING, 0, o.id());
        ApprovalStore.Claim c = recording.claimExpiries(Duration.ofMinutes(5), 100);
        assertThat(c.opening()).contains(o.id());
        recording.opened(o.id(), o.expiresMillis(), "pending");
        assertThat(jedis.zscore(ApprovalKeys.OPENING, o.id())).isNull();
        assertThat(jedis.zscore(ApprovalKeys.PENDING_INDEX, o.id())).isEqualTo((double) o.expiresMillis());
    }

    @Test
    void theWholeFlowRunsOnApprovalsSpreadOverTheMasters() throws Exception {
        List<Principal> people = spreadOverNodes(3);
        assertThat(people).hasSize(3);
        for (Principal p : people) {
            ApprovalStore.Outcome held = admit(p, "fp", ApprovalStore.Mode.FINGERPRINT, null);
            assertThat(held.verdict()).isEqualTo(ApprovalStore.Verdict.CREATED);
            assertThat(admit(p, "fp", ApprovalStore.Mode.FINGERPRINT, null).verdict()).isEqualTo(ApprovalStore.Verdict.JOINED);
            assertThat(store.pendingIds(System.currentTimeMillis(), 500)).contains(held.id());
            assertThat(store.decide(held.id(), true, rita(), "ok").result()).isEqualTo(ApprovalStore.DecideResult.APPROVED);
            assertThat(store.isPending(held.id())).isFalse();
            assertThat(admit(p, "fp", ApprovalStore.Mode.NAMED, held.id()).verdict()).isEqualTo(ApprovalStore.Verdict.CONSUMED);
            assertThat(admit(p, "fp", ApprovalStore.Mode.FINGERPRINT, null).verdict()).isEqualTo(ApprovalStore.Verdict.USED);
            store.note(held.id(), "hook", "delivered");
            assertThat(new String(store.get(held.id()).orElseThrow().get("notify:hook"), StandardCharsets.UTF_8)).isEqualTo("delivered");
        }
        Principal self = people.get(0);
        ApprovalStore.Outcome mine = admit(self, "fp2", ApprovalStore.Mode.FINGERPRINT, null);
        ApprovalStore.Reviewer asSelf = new ApprovalStore.Reviewer(ApprovalKeys.principalKey(self), self.subject(), "x", List.of("reviewers"));
        assertThat(store.decide(mine.id(), true, asSelf, "me").result()).isEqualTo(ApprovalStore.DecideResult.SELF);
        assertThat(store.decide(mine.id(), false, rita(), "no").result()).isEqualTo(ApprovalStore.DecideResult.DENIED);
        assertThat(admit(self, "fp2", ApprovalStore.Mode.FINGERPRINT, null).verdict()).isEqualTo(ApprovalStore.Verdict.DENIED);
    }

    @Test
    void concurrentRepeatsRunOnceOnACluster() throws Exception {
        Principal p = principal("racer-" + System.nanoTime());
        ApprovalStore.Outcome held = admit(p, "race", ApprovalStore.Mode.FINGERPRINT, null);
        store.decide(held.id(), true, rita(), "go");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<ApprovalStore.Outcome>> fs = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                Callable<ApprovalStore.Outcome> c = () -> {
                    go.await();
                    return admit(p, "race", ApprovalStore.Mode.FINGERPRINT, null);
                };
                fs.add(pool.submit(c));
            }
            go.countDown();
            int consumed = 0;
            for (Future<ApprovalStore.Outcome> f : fs) {
                if (f.get().verdict() == ApprovalStore.Verdict.CONSUMED) {
                    consumed++;
                }
            }
            assertThat(consumed).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDecisionOnOneNodeReachesASubscriberOnAnother() throws Exception {
        List<Principal> people = spreadOverNodes(3);
        Principal p = people.get(1);
        ApprovalStore.Outcome held = admit(p, "pubsub", ApprovalStore.Mode.FINGERPRINT, null);
        int owner = nodeOf(ApprovalKeys.approval(held.id()));
        int other = cluster.ports().stream().filter(port -> port != owner).findFirst().orElseThrow();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        CountDownLatch subscribed = new CountDownLatch(1);
        JedisPubSub ps = new JedisPubSub() {
            @Override
            public void onSubscribe(String channel, int count) {
                subscribed.countDown();
            }

            @Override
            public void onMessage(String channel, String message) {
                got.add(message);
            }
        };
        Thread t = new Thread(() -> {
            try (Jedis sub = new Jedis("127.0.0.1", other)) {
                sub.subscribe(ps, ApprovalStore.DECIDED_CHANNEL);
            }
        });
        t.setDaemon(true);
        t.start();
        assertThat(subscribed.await(5, TimeUnit.SECONDS)).isTrue();
        store.decide(held.id(), true, rita(), "ok");
        assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(held.id() + " approved");
        ps.unsubscribe();
    }
}
