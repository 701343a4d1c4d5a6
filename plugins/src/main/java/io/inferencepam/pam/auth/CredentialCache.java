package io.inferencepam.pam.auth;

import io.inferencepam.pam.redis.PamRedis;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/**
 * The runner's view of upstream credentials: decrypted secrets cached in memory, invalidated within
 * milliseconds by the store's pub/sub announcement (so a rotation reaches every runner well within a
 * second), re-read at least every {@code ttl} in case an announcement was missed. When Redis is
 * down, a secret read less than {@code maxStale} ago keeps serving; after that, calls fail closed.
 */
public final class CredentialCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CredentialCache.class);

    private final PamRedis redis;
    private final CredentialCipher cipher;
    private final Executor blocking;
    private final Duration ttl;
    private final Duration maxStale;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    /**
     * Bumped by every invalidation, before the entry is removed. A load that started before an
     * invalidation must not cache what it read (it may be the version just replaced): it compares
     * the generation atomically with the map update.
     */
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();
    private volatile Thread subscriber;
    private volatile JedisPubSub pubSub;
    private volatile boolean closed;

    private record Entry(CredentialStore.Credential credential, long loadedNanos) {
    }

    /** Why a credential cannot be injected. */
    public static final class Unavailable extends Exception {
        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    public CredentialCache(PamRedis redis, CredentialCipher cipher, Executor blocking, Duration ttl, Duration maxStale) {
        this.redis = redis;
        this.cipher = cipher;
        this.blocking = blocking;
        this.ttl = ttl;
        this.maxStale = maxStale;
    }

    public CompletionStage<CredentialStore.Credential> get(String name) {
        ensureSubscribed();
        Entry e = entries.get(name);
        long now = System.nanoTime();
        if (e != null && now - e.loadedNanos < ttl.toNanos()) {
            return CompletableFuture.completedFuture(e.credential);
        }
        CompletableFuture<CredentialStore.Credential> out = new CompletableFuture<>();
        long loadGeneration = generation.get();
        try {
            blocking.execute(() -> {
                try {
                    Optional<CredentialStore.Credential> c = new CredentialStore(redis.client(), cipher).current(name);
                    if (c.isEmpty()) {
                        entries.remove(name);
                        out.completeExceptionally(new Unavailable("credential " + name + " does not exist in the store"));
                        return;
                    }
                    Entry fresh = new Entry(c.get(), System.nanoTime());
                    entries.compute(name, (k, old) -> generation.get() == loadGeneration ? fresh : old);
                    out.complete(c.get());
                } catch (Exception | LinkageError ex) {
                    Entry stale = entries.get(name);
                    if (stale != null && System.nanoTime() - stale.loadedNanos < maxStale.toNanos()) {
                        LOG.warn("credential store unreachable ({}); using {} read {} s ago", ex.getClass().getSimpleName(),
                                stale.credential, (System.nanoTime() - stale.loadedNanos) / 1_000_000_000L);
                        out.complete(stale.credential);
                    } else {
                        LOG.warn("credential {} unavailable: {}", name, safe(ex));
                        out.completeExceptionally(new Unavailable("credential store unavailable"));
                    }
                }
            });
        } catch (RuntimeException rejected) {
            out.completeExceptionally(new Unavailable("credential store busy"));
        }
        return out;
    }

    /** Exception text without anything that could be a secret (Jedis messages carry no values; ours name only). */
    private static String safe(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** Forgets a credential so the next call re-reads it (pub/sub invalidation). */
    public void invalidate(String name) {
        generation.incrementAndGet();
        entries.remove(name);
    }

    private void ensureSubscribed() {
        if (subscriber != null || closed) {
            return;
        }
        synchronized (this) {
            if (subscriber != null) {
                return;
            }
            // A SUBSCRIBE holds its connection and thread for life: a dedicated daemon thread, not the bounded pool.
            Thread t = new Thread(this::subscribeLoop, "pam-credential-invalidation");
            t.setDaemon(true);
            subscriber = t;
            t.start();
        }
    }

    private void subscribeLoop() {
        while (!closed) {
            try (Jedis conn = redis.newSubscriberConnection()) {
                JedisPubSub ps = new JedisPubSub() {
                    @Override
                    public void onSubscribe(String channel, int count) {
                        // Messages may have been missed while we were not subscribed.
                        generation.incrementAndGet();
                        entries.clear();
                    }

                    @Override
                    public void onMessage(String channel, String name) {
                        invalidate(name);
                    }
                };
                pubSub = ps;
                conn.subscribe(ps, CredentialStore.CHANNEL);
            } catch (Exception e) {
                if (!closed) {
                    // Entries stay (they may serve up to maxStale while Redis is down); onSubscribe clears them on reconnect.
                    LOG.debug("credential invalidation subscription lost ({}); retrying", e.getClass().getSimpleName());
                    sleep(500);
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
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
