package io.inferencepam.pam.auth;

import io.inferencepam.pam.redis.PamRedis;
import java.security.GeneralSecurityException;
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
 * The runner's view of upstream credentials: decrypted secrets cached in memory.
 * <ul>
 *   <li><b>Push.</b> The store announces every write on {@link CredentialStore#CHANNEL}; a
 *   dedicated daemon thread (never the event loop, never the blocking pool) holds the
 *   subscription, drops the named entry on receipt, drops every entry whenever it (re)subscribes
 *   (messages may have been missed while it was not), and reconnects after a Redis restart.</li>
 *   <li><b>Refresh.</b> An entry older than {@code refresh} is re-read in the background while it
 *   keeps being served, so a missed announcement cannot pin a secret for longer than that. At most
 *   one read per credential is in flight, whatever the number of calls: a slow Redis costs one
 *   blocking thread, not the pool. After a failed read the next one waits {@link #retryPause}.</li>
 *   <li><b>Hard expiry.</b> An entry older than {@code maxStale} (no successful read for that
 *   long) is not served: calls wait for the one read in flight, and fail closed if it fails.</li>
 *   <li>An entry dropped by an announcement is never served again: the next call waits for the read.</li>
 * </ul>
 */
public final class CredentialCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CredentialCache.class);

    private final PamRedis redis;
    private final CredentialCipher cipher;
    private final Executor blocking;
    private final long refreshNanos;
    private final long maxStaleNanos;
    private final long retryPauseNanos;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();
    private volatile Thread subscriber;
    private volatile JedisPubSub pubSub;
    private volatile boolean closed;
    /** Only the subscriber thread writes it: one warning per outage, not one per reconnect attempt. */
    private volatile boolean subscriptionLost;

    private record Entry(CredentialStore.Credential credential, long loadedNanos) {
    }

    /** Per credential: the last good read and the one read in flight. Guarded by its own monitor; nothing blocks under it. */
    private static final class Slot {
        Entry entry;
        CompletableFuture<CredentialStore.Credential> loading;
        /**
         * Bumped by every invalidation of this credential. A read that started before one must not
         * cache what it read (it may be the version just replaced). Per credential: an announcement
         * for another credential must not throw this one's refresh away (it would then be served
         * up to the hard expiry instead of the refresh interval).
         */
        long generation;
        Unavailable lastFailure;
        long retryNotBeforeNanos;
    }

    /** Why a credential cannot be injected; {@link #code()} is the error code the client receives. */
    public static final class Unavailable extends Exception {
        private final String code;

        public Unavailable(String code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        /** {@code credential_not_configured}, {@code credential_unusable} or {@code credential_store_unavailable}. */
        public String code() {
            return code;
        }
    }

    static final String NOT_CONFIGURED = "credential_not_configured";
    static final String UNUSABLE = "credential_unusable";
    static final String STORE_UNAVAILABLE = "credential_store_unavailable";

    public CredentialCache(PamRedis redis, CredentialCipher cipher, Executor blocking, Duration refresh, Duration maxStale) {
        this.redis = redis;
        this.cipher = cipher;
        this.blocking = blocking;
        this.refreshNanos = refresh.toNanos();
        this.maxStaleNanos = maxStale.toNanos();
        this.retryPauseNanos = Math.min(retryPause().toNanos(), Math.max(refreshNanos, 1));
    }

    /** How long after a failed read the next one starts at the earliest (at most the refresh interval). */
    static Duration retryPause() {
        return Duration.ofSeconds(1);
    }

    /** Never blocks: a cached secret, the one read in flight, or a new read on the blocking executor. */
    public CompletionStage<CredentialStore.Credential> get(String name) {
        ensureSubscribed();
        Slot slot = slots.computeIfAbsent(name, k -> new Slot());
        long now = System.nanoTime();
        CompletableFuture<CredentialStore.Credential> started;
        synchronized (slot) {
            Entry e = slot.entry;
            if (e != null) {
                long age = now - e.loadedNanos;
                if (age < refreshNanos) {
                    return CompletableFuture.completedFuture(e.credential);
                }
                if (age < maxStaleNanos) {
                    if (slot.loading == null && now - slot.retryNotBeforeNanos >= 0) {
                        startLoad(name, slot); // in the background: this call is served now
                    }
                    return CompletableFuture.completedFuture(e.credential);
                }
            }
            if (slot.loading != null) {
                return slot.loading.copy();
            }
            if (slot.lastFailure != null && now - slot.retryNotBeforeNanos < 0) {
                // The store failed a moment ago: answer at once instead of queueing calls behind it.
                return CompletableFuture.failedFuture(slot.lastFailure);
            }
            started = startLoad(name, slot);
        }
        return started.copy();
    }

    /** Registers a read as the slot's one read in flight and hands it to the blocking executor. Caller holds the slot. */
    private CompletableFuture<CredentialStore.Credential> startLoad(String name, Slot slot) {
        CompletableFuture<CredentialStore.Credential> load = new CompletableFuture<>();
        slot.loading = load;
        long loadGeneration = slot.generation;
        try {
            blocking.execute(() -> load(name, slot, load, loadGeneration));
        } catch (RuntimeException rejected) {
            // The pool is full: no read now, and none for a moment (the calls it serves matter more).
            finish(name, slot, load, loadGeneration, null, new Unavailable(STORE_UNAVAILABLE, "credential store busy"));
        }
        return load;
    }

    private void load(String name, Slot slot, CompletableFuture<CredentialStore.Credential> load, long loadGeneration) {
        CredentialStore.Credential read = null;
        Unavailable failure = null;
        try {
            Optional<CredentialStore.Credential> c = new CredentialStore(redis.client(), cipher).current(name);
            if (c.isPresent()) {
                read = c.get();
            } else {
                failure = new Unavailable(NOT_CONFIGURED, "credential " + name + " does not exist in the store");
            }
        } catch (GeneralSecurityException e) {
            failure = new Unavailable(UNUSABLE, e.getMessage()); // our messages: name and version, never a secret
        } catch (Exception | LinkageError e) {
            failure = new Unavailable(STORE_UNAVAILABLE, "credential store unavailable: " + safe(e));
        }
        finish(name, slot, load, loadGeneration, read, failure);
    }

    private void finish(String name, Slot slot, CompletableFuture<CredentialStore.Credential> load, long loadGeneration,
                        CredentialStore.Credential read, Unavailable failure) {
        long now = System.nanoTime();
        Entry served;
        synchronized (slot) {
            if (slot.loading == load) {
                slot.loading = null;
            }
            boolean current = slot.generation == loadGeneration;
            if (read != null) {
                if (current) {
                    slot.entry = new Entry(read, now);
                }
                slot.lastFailure = null;
                slot.retryNotBeforeNanos = now;
            } else {
                if (current && !STORE_UNAVAILABLE.equals(failure.code())) {
                    // The store answered: the credential is gone or unusable. Stop injecting the old one.
                    slot.entry = null;
                }
                slot.lastFailure = failure;
                slot.retryNotBeforeNanos = now + retryPauseNanos;
            }
            served = slot.entry;
        }
        if (read != null) {
            load.complete(read);
            return;
        }
        if (served != null && now - served.loadedNanos < maxStaleNanos) {
            LOG.warn("credential {}: {}; serving {} read {} s ago", name, failure.getMessage(), served.credential,
                    (now - served.loadedNanos) / 1_000_000_000L);
        } else {
            LOG.warn("credential {} unavailable ({}): {}", name, failure.code(), failure.getMessage());
        }
        load.completeExceptionally(failure);
    }

    /** Exception text without anything that could be a secret (Jedis messages carry no values; ours name only). */
    private static String safe(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** Forgets a credential so the next call re-reads it (pub/sub invalidation); a read in flight is not reused. */
    public void invalidate(String name) {
        Slot slot = slots.get(name);
        if (slot != null) {
            synchronized (slot) {
                slot.generation++;
                slot.entry = null;
                slot.loading = null;
                slot.lastFailure = null;
                slot.retryNotBeforeNanos = System.nanoTime();
            }
        }
    }

    private void invalidateAll() {
        slots.keySet().forEach(this::invalidate);
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
                        invalidateAll();
                        if (subscriptionLost) {
                            subscriptionLost = false;
                            LOG.info("credential invalidation subscription restored");
                        }
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
                    // Entries stay: refreshed every `refresh` (a missed announcement cannot pin one), served up to
                    // maxStale while Redis is down; onSubscribe drops them all on reconnect.
                    if (!subscriptionLost) {
                        subscriptionLost = true;
                        LOG.warn("credential invalidation subscription lost ({}); reconnecting, refreshing by age meanwhile",
                                e.getClass().getSimpleName());
                    }
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
