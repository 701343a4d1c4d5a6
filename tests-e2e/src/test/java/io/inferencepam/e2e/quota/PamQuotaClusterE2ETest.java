package io.inferencepam.e2e.quota;

import static io.inferencepam.e2e.quota.QuotaSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RedisCluster;
import io.inferencepam.e2e.support.RunnerProcess;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisCluster;

/**
 * pam-quota on a real local Redis Cluster (three masters started by the test, no replicas), two
 * real runner processes with {@code PAM_REDIS_CLUSTER=true} seeded with one node. The counters of
 * one call share one hash tag (the principal), so the one script per call runs on one master,
 * whatever the number of limits and models; different principals spread over the masters.
 */
class PamQuotaClusterE2ETest {
    static RedisCluster cluster;
    static RunnerProcess a;
    static RunnerProcess b;
    static ApisixDriver driverA;
    static ApisixDriver driverB;
    static EchoUpstream upstream;
    static JedisCluster jedis;

    @BeforeAll
    static void start() throws Exception {
        cluster = RedisCluster.start(3);
        Map<String, String> env = Map.of("PAM_REDIS_URL", cluster.seedUrl(), "PAM_REDIS_CLUSTER", "true");
        a = RunnerProcess.start(env);
        b = RunnerProcess.start(env);
        upstream = EchoUpstream.start();
        driverA = new ApisixDriver(a.socket());
        driverB = new ApisixDriver(b.socket());
        jedis = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", cluster.ports().get(1))));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {jedis, driverA, driverB, upstream, a, b, cluster}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    void fiftyParallelFirstRequestsThroughTwoRunnersAdmitExactlyTen() throws Exception {
        RouteConf route = route("qc-parallel", "sub-c-parallel",
                "{\"limits\":[{\"id\":\"c-parallel\",\"window_seconds\":86400,\"requests\":10}]}");
        List<Callable<GatewayResult>> calls = times(50, i -> () -> call(i % 2 == 0 ? driverA : driverB, route, upstream));
        List<GatewayResult> results = parallel(calls);
        assertThat(statuses(results)).as(results.toString()).containsExactlyInAnyOrderEntriesOf(Map.of(200, 10L, 429, 40L));
        assertThat(upstreamCalls(results)).isEqualTo(10);
        assertThat(field(jedis, key("sub-c-parallel", "c-parallel", 86_400), "r")).isEqualTo(10);
    }

    @Test
    void severalLimitsAndPerModelCountersOfOneCallShareOneSlot() throws Exception {
        String conf = "{\"limits\":[{\"id\":\"c-all\",\"window_seconds\":86400,\"requests\":3},"
                + "{\"id\":\"c-model\",\"window_seconds\":3600,\"requests\":2,\"per_model\":true},"
                + "{\"id\":\"c-tok\",\"window_seconds\":60,\"tokens\":1000}]}";
        RouteConf route = route("qc-multi", "sub-c-multi", conf);
        // every call of this test in one 60 s window of c-tok (a slow host once split them: the charge landed in the window before)
        long into = System.currentTimeMillis() % 60_000; // the cluster runs on this host: its TIME is this clock
        if (into > 40_000) {
            Thread.sleep(60_000 - into + 50);
        }
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")),
                "{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}");
        assertThat(driverA.call(route, chat("x", ""), upstream).status()).isEqualTo(200);
        assertThat(driverB.call(route, chat("x", ""), upstream).status()).isEqualTo(200);
        GatewayResult third = driverA.call(route, chat("x", ""), upstream);
        assertThat(third.status()).as("c-model: 2 per hour for model x").isEqualTo(429);
        assertThat(third.bodyUtf8()).contains("`c-model`");
        assertThat(driverB.call(route, chat("y", ""), upstream).status()).isEqualTo(200);
        assertThat(driverA.call(route, chat("z", ""), upstream).status()).as("c-all: 3 per day").isEqualTo(429);
        String all = key("sub-c-multi", "c-all", 86_400);
        String modelX = key(TEST_ISSUER, "sub-c-multi", "c-model", 3600, Optional.of("x"));
        assertThat(field(jedis, all, "r")).isEqualTo(3);
        assertThat(field(jedis, modelX, "r")).isEqualTo(2);
        assertThat(field(jedis, key("sub-c-multi", "c-tok", 60), "t")).isEqualTo(3);
        assertThat(cluster.portOf(all)).isEqualTo(cluster.portOf(modelX));
    }

    @Test
    void principalsSpreadOverTheMasters() throws Exception {
        Set<Integer> masters = new HashSet<>();
        for (int i = 0; i < 12; i++) {
            String subject = "sub-c-spread-" + i;
            RouteConf route = route("qc-spread-" + i, subject, "{\"limits\":[{\"id\":\"c-spread\",\"window_seconds\":86400,\"requests\":1}]}");
            assertThat(call(i % 2 == 0 ? driverA : driverB, route, upstream).status()).isEqualTo(200);
            assertThat(call(i % 2 == 0 ? driverB : driverA, route, upstream).status()).isEqualTo(429);
            masters.add(cluster.portOf(key(subject, "c-spread", 86_400)));
        }
        assertThat(masters).as("12 principals on 3 masters").hasSizeGreaterThan(1);
    }

    /**
     * The slot of a principal's counter moves to another master while both runners hold the old
     * slot map: the next call gets MOVED, which proves the script did not run, so it is sent to the
     * new owner once more — counted exactly once. Then every master forgets the script (SCRIPT
     * FLUSH): EVALSHA answers NOSCRIPT and EVAL runs it, again once.
     */
    @Test
    void aMovedSlotAndAFlushedScriptCacheCountEachCallOnce() throws Exception {
        String conf = "{\"limits\":[{\"id\":\"c-moved\",\"window_seconds\":86400,\"requests\":100}]}";
        RouteConf route = route("qc-moved", "sub-c-moved", conf);
        String key = key("sub-c-moved", "c-moved", 86_400);
        assertThat(call(driverA, route, upstream).status()).isEqualTo(200);
        assertThat(call(driverB, route, upstream).status()).isEqualTo(200);
        int from = cluster.portOf(key);
        int to = cluster.ports().stream().filter(p -> p != from).findFirst().orElseThrow();
        cluster.moveSlotOf(key, to);
        assertThat(cluster.portOf(key)).isEqualTo(to);
        assertThat(call(driverA, route, upstream).status()).isEqualTo(200);
        assertThat(call(driverB, route, upstream).status()).isEqualTo(200);
        assertThat(field(jedis, key, "r")).isEqualTo(4);
        for (int p : cluster.ports()) {
            cluster.cli(p, "script", "flush");
        }
        assertThat(call(driverA, route, upstream).status()).isEqualTo(200);
        assertThat(call(driverB, route, upstream).status()).isEqualTo(200);
        assertThat(field(jedis, key, "r")).isEqualTo(6);
        assertThat(cluster.cli(to, "info", "commandstats")).contains("cmdstat_eval:");
    }
}
