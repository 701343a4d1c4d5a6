package io.inferencepam.pam.quota;

import io.inferencepam.pam.redis.PamRedis;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The quota counters in Redis: one script, so one round trip, per admission and per token charge,
 * run on the runner's blocking executor (never on a plugin or event-loop thread). A full executor
 * or any Redis failure completes the stage exceptionally: the caller decides (fail closed unless
 * the route says {@code fail_open}).
 */
public final class QuotaStore {
    static final QuotaScript ADMIT = QuotaScript.load("quota_admit.lua");
    static final QuotaScript CHARGE = QuotaScript.load("quota_charge.lua");

    private final PamRedis redis;
    private final Executor blocking;

    public QuotaStore(PamRedis redis, Executor blocking) {
        this.redis = redis;
        this.blocking = blocking;
    }

    /** What the admission script answered. */
    public sealed interface Admission {
    }

    /** Counted in every counter; {@code remainingRequests} of the tightest request cap, -1 when none caps requests. */
    public record Admitted(long remainingRequests) implements Admission {
    }

    /** Not counted anywhere: {@code counter}'s cap of {@code kind} ("requests" or "tokens") is reached until its window ends. */
    public record Exceeded(QuotaCounter counter, String kind, long retryAfterMillis) implements Admission {
    }

    /** Counts the call in every counter, or in none when any of them is at its cap (atomically). */
    public CompletionStage<Admission> admit(List<QuotaCounter> counters) {
        return async(() -> admitNow(counters));
    }

    /** Adds {@code tokens} to every counter, in the window current at Redis now. */
    public CompletionStage<Void> charge(List<QuotaCounter> counters, long tokens) {
        return async(() -> {
            chargeNow(counters, tokens);
            return null;
        });
    }

    Admission admitNow(List<QuotaCounter> counters) {
        List<String> keys = new ArrayList<>(counters.size());
        List<String> args = new ArrayList<>(counters.size() * 3);
        for (QuotaCounter c : counters) {
            keys.add(c.key());
            args.add(Long.toString(c.windowMillis()));
            args.add(Long.toString(c.requestCap()));
            args.add(Long.toString(c.tokenCap()));
        }
        List<?> reply = (List<?>) ADMIT.run(redis.client(), keys, args);
        if (((Long) reply.get(0)) == 1L) {
            return new Admitted((Long) reply.get(1));
        }
        int index = ((Long) reply.get(1)).intValue() - 1;
        return new Exceeded(counters.get(index), text(reply.get(3)), (Long) reply.get(2));
    }

    void chargeNow(List<QuotaCounter> counters, long tokens) {
        List<String> keys = new ArrayList<>(counters.size());
        List<String> args = new ArrayList<>(counters.size() + 1);
        args.add(Long.toString(tokens));
        for (QuotaCounter c : counters) {
            keys.add(c.key());
            args.add(Long.toString(c.windowMillis()));
        }
        CHARGE.run(redis.client(), keys, args);
    }

    private static String text(Object o) {
        return o instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.UTF_8) : String.valueOf(o);
    }

    private <T> CompletionStage<T> async(Supplier<T> work) {
        try {
            return CompletableFuture.supplyAsync(work, blocking);
        } catch (RuntimeException rejected) {
            return CompletableFuture.failedFuture(rejected); // the blocking pool is full: the store is as good as down
        }
    }
}
