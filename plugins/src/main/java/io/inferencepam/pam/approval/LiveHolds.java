package io.inferencepam.pam.approval;

import io.inferencepam.pam.redis.PamRedis;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/**
 * The calls this runner holds open while their approval is pending. A held call is a future,
 * not a thread: it completes when a decision is announced on {@link ApprovalStore#DECIDED_CHANNEL}
 * (by whichever runner took it: one subscription per runner, on a connection and thread of its
 * own), when its wait is over, or when shutdown begins. Whoever completes it, the call then asks
 * the store what it may do (one script), so a lost announcement costs latency, never a wrong
 * answer: at the end of its wait the call finds an approval taken meanwhile.
 *
 * <p>Bounded: at most {@code maxPerRunner} calls held here, and a per-principal cap given by the
 * route; beyond them a call is parked at once.
 */
final class LiveHolds implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LiveHolds.class);
    static final String MAX_SETTING = "PAM_APPROVAL_MAX_LIVE";
    static final int DEFAULT_MAX = 1000;

    /** Why a held call wakes up. */
    enum Wake { DECIDED, TIMEOUT, SHUTDOWN }

    /** One held call. */
    final class Waiter {
        final String id;
        final String principalTag;
        final CompletableFuture<Wake> wake = new CompletableFuture<>();
        private volatile ScheduledFuture<?> timeout;

        private Waiter(String id, String principalTag) {
            this.id = id;
            this.principalTag = principalTag;
        }
    }

    private final ConcurrentHashMap<String, Set<Waiter>> byId = new ConcurrentHashMap<>();
    /** Held calls per principal tag; an entry exists only while its count is positive. */
    private final ConcurrentHashMap<String, Integer> perPrincipal = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final int maxPerRunner;
    private final ScheduledExecutorService scheduler;
    private final Executor blocking;
    private final java.util.function.Supplier<PamRedis> redis;
    /** True if the approval is still pending (checked off the request path, on the blocking executor). */
    private final Predicate<String> pending;
    private volatile boolean closing;
    private volatile Thread subscriber;
    private volatile JedisPubSub pubSub;
    private volatile boolean subscriptionLost;

    LiveHolds(int maxPerRunner, ScheduledExecutorService scheduler, Executor blocking, java.util.function.Supplier<PamRedis> redis,
              Predicate<String> pending) {
        this.maxPerRunner = maxPerRunner;
        this.scheduler = scheduler;
        this.blocking = blocking;
        this.redis = redis;
        this.pending = pending;
    }

    int held() {
        return total.get();
    }

    /**
     * Holds a call on approval {@code id} for up to {@code wait}; empty if a cap is reached or the
     * runner is shutting down (the call is then parked at once).
     */
    Optional<Waiter> hold(String id, String principalTag, int maxPerPrincipal, Duration wait) {
        if (closing || maxPerPrincipal <= 0) {
            return Optional.empty();
        }
        if (total.incrementAndGet() > maxPerRunner) {
            total.decrementAndGet();
            return Optional.empty();
        }
        boolean[] admitted = {false};
        perPrincipal.compute(principalTag, (k, n) -> {
            int held = n == null ? 0 : n;
            if (held >= maxPerPrincipal) {
                return n;
            }
            admitted[0] = true;
            return held + 1;
        });
        if (!admitted[0]) {
            total.decrementAndGet();
            return Optional.empty();
        }
        Waiter w = new Waiter(id, principalTag);
        byId.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(w);
        w.wake.whenComplete((wake, err) -> forget(w));
        ensureSubscribed();
        try {
            w.timeout = scheduler.schedule(() -> w.wake.complete(Wake.TIMEOUT), wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException rejected) {
            w.wake.complete(Wake.TIMEOUT); // scheduler shut down: park now
        }
        if (closing) {
            w.wake.complete(Wake.SHUTDOWN);
        }
        // A decision taken between the hold and this registration was announced before we listened.
        check(id);
        return Optional.of(w);
    }

    private void forget(Waiter w) {
        ScheduledFuture<?> t = w.timeout;
        if (t != null) {
            t.cancel(false);
        }
        byId.computeIfPresent(w.id, (k, set) -> {
            set.remove(w);
            return set.isEmpty() ? null : set;
        });
        total.decrementAndGet();
        perPrincipal.computeIfPresent(w.principalTag, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** A decision on {@code id} was announced: wake the calls held on it. */
    void decided(String id) {
        Set<Waiter> ws = byId.get(id);
        if (ws != null) {
            for (Waiter w : ws) {
                w.wake.complete(Wake.DECIDED);
            }
        }
    }

    /** Wakes the calls on {@code id} if it is no longer pending (announcement missed). */
    private void check(String id) {
        try {
            blocking.execute(() -> {
                try {
                    if (byId.containsKey(id) && !pending.test(id)) {
                        decided(id);
                    }
                } catch (RuntimeException e) {
                    // Redis unavailable: the call wakes at the end of its wait and asks again
                }
            });
        } catch (RuntimeException rejected) {
            // executor full: same
        }
    }

    /** Shutdown begins: every held call is answered now (parked); nothing new is held. */
    void shutdownBegins() {
        closing = true;
        for (Set<Waiter> ws : byId.values()) {
            for (Waiter w : ws) {
                w.wake.complete(Wake.SHUTDOWN);
            }
        }
    }

    private void ensureSubscribed() {
        if (subscriber != null || closing) {
            return;
        }
        synchronized (this) {
            if (subscriber != null) {
                return;
            }
            // A SUBSCRIBE holds its connection and thread for life: one daemon thread per runner, not per call.
            Thread t = new Thread(this::subscribeLoop, "pam-approval-decisions");
            t.setDaemon(true);
            subscriber = t;
            t.start();
        }
    }

    /** Starts listening before the first call is held (a route that holds live was just prepared). */
    void listen() {
        ensureSubscribed();
    }

    private void subscribeLoop() {
        while (!closing) {
            try (Jedis conn = redis.get().newSubscriberConnection()) {
                JedisPubSub ps = new JedisPubSub() {
                    @Override
                    public void onSubscribe(String channel, int count) {
                        if (subscriptionLost) {
                            subscriptionLost = false;
                            LOG.info("approval decisions subscription restored");
                        }
                        byId.keySet().forEach(LiveHolds.this::check); // decisions may have been missed meanwhile
                    }

                    @Override
                    public void onMessage(String channel, String message) {
                        int space = message.indexOf(' ');
                        decided(space < 0 ? message : message.substring(0, space));
                    }
                };
                pubSub = ps;
                conn.subscribe(ps, ApprovalStore.DECIDED_CHANNEL);
            } catch (Exception e) {
                if (!closing) {
                    if (!subscriptionLost) {
                        subscriptionLost = true;
                        LOG.warn("approval decisions subscription lost ({}); reconnecting, held calls re-check at the end of "
                                + "their wait", e.getClass().getSimpleName());
                    }
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closing = true;
        JedisPubSub ps = pubSub;
        if (ps != null) {
            try {
                ps.unsubscribe();
            } catch (RuntimeException ignored) {
                // connection already gone
            }
        }
    }
}
