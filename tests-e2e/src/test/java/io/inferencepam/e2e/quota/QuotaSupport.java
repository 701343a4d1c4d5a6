package io.inferencepam.e2e.quota;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.quota.QuotaCounter;
import io.inferencepam.pam.quota.QuotaKeys;
import io.inferencepam.pam.quota.QuotaLimit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;
import redis.clients.jedis.UnifiedJedis;

/** Routes, calls and Redis look-ups shared by the pam-quota end-to-end tests. */
final class QuotaSupport {
    /** The issuer test-pam-auth puts in every principal. */
    static final String TEST_ISSUER = "https://idp.test";

    private QuotaSupport() {
    }

    /** pre-req [test-pam-auth (principal {@code subject}), pam-quota]; post-resp [pam-quota] with the same conf. */
    static RouteConf route(String id, String subject, String quotaConf) {
        return RouteConf.builder(id)
                .preReq(new ConfEntry("test-pam-auth", "{\"subject\":\"" + subject + "\"}"), new ConfEntry("pam-quota", quotaConf))
                .postResp(new ConfEntry("pam-quota", quotaConf))
                .build();
    }

    static ClientRequest chat(String model, String extraJson) {
        return ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer test").header("Content-Type", "application/json")
                .body("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extraJson + "}").build();
    }

    static GatewayResult call(ApisixDriver d, RouteConf r, EchoUpstream upstream) {
        return d.call(r, chat("m", ""), upstream);
    }

    /** The Redis key of limit {@code limitId} (window {@code windowSeconds}) for test-pam-auth's principal {@code subject}. */
    static String key(String issuer, String subject, String limitId, long windowSeconds, Optional<String> perModel) {
        QuotaLimit l = new QuotaLimit(limitId, Duration.ofSeconds(windowSeconds), 1, -1, List.of(), perModel.isPresent());
        List<QuotaCounter> c = QuotaKeys.counters(List.of(l), new Principal(issuer, subject, "", List.of(), ""), perModel);
        return c.get(0).key();
    }

    static String key(String subject, String limitId, long windowSeconds) {
        return key(TEST_ISSUER, subject, limitId, windowSeconds, Optional.empty());
    }

    /** Field {@code field} ("r", "t", "w") of a counter, or -1 when the key does not exist. */
    static long field(UnifiedJedis jedis, String key, String field) {
        for (int attempt = 0; ; attempt++) {
            try {
                String v = jedis.hget(key, field);
                return v == null ? -1 : Long.parseLong(v);
            } catch (redis.clients.jedis.exceptions.JedisConnectionException | redis.clients.jedis.exceptions.JedisDataException e) {
                // the test's own pooled connections broke when the test restarted Redis (or it is still loading)
                if (attempt > 50) {
                    throw e;
                }
                sleep(100);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Redis server time in milliseconds (the clock the quota windows follow). */
    static long redisMillis(UnifiedJedis jedis) {
        @SuppressWarnings("unchecked")
        List<Object> t = (List<Object>) jedis.sendCommand(redis.clients.jedis.Protocol.Command.TIME);
        return Long.parseLong(text(t.get(0))) * 1000 + Long.parseLong(text(t.get(1))) / 1000;
    }

    private static String text(Object o) {
        return o instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.US_ASCII) : o.toString();
    }

    /** Sleeps until Redis time is at most {@code maxIntoWindow} ms past the start of a {@code windowMillis} window. */
    static void awaitWindowStart(UnifiedJedis jedis, long windowMillis, long maxIntoWindow) throws InterruptedException {
        long now = redisMillis(jedis);
        long into = now % windowMillis;
        if (into > maxIntoWindow) {
            Thread.sleep(windowMillis - into + 20);
        }
    }

    /** Runs every call at once (released together by a latch) and returns the results in order. */
    static List<GatewayResult> parallel(List<Callable<GatewayResult>> calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(calls.size());
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<GatewayResult>> futures = new ArrayList<>();
            for (Callable<GatewayResult> c : calls) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return c.call();
                }));
            }
            go.countDown();
            List<GatewayResult> out = new ArrayList<>();
            for (Future<GatewayResult> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static Map<Integer, Long> statuses(List<GatewayResult> results) {
        return results.stream().collect(Collectors.groupingBy(GatewayResult::status, Collectors.counting()));
    }

    static long upstreamCalls(List<GatewayResult> results) {
        return results.stream().mapToLong(r -> r.upstreamRequests().size()).sum();
    }

    static <T> List<T> times(int n, Function<Integer, T> f) {
        List<T> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(f.apply(i));
        }
        return out;
    }
}
