package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Conf tokens handed to APISIX. Entries live APISIX's token lifetime plus a margin, so APISIX
 * always drops a token before we do; the capacity bound protects memory, and every eviction is
 * counted because it costs APISIX a flush-and-re-prepare of every route.
 *
 * <p>Why not a general-purpose cache: every call looks its token up (on the event loop), while
 * tokens are only added at PrepareConf. Lookups are a plain {@link ConcurrentHashMap} read — no
 * clock read, no read buffers, no maintenance work handed to another thread. Tokens are issued in
 * increasing order and all live equally long, so the oldest token is both the next to expire and
 * the right one to evict when over capacity: a FIFO of tokens in issue order, trimmed under a lock
 * on the (rare) insert and on {@link #size()} (the metrics scrape), is the whole policy.
 *
 * <p>Lookups do not check expiry: a token is an immutable snapshot of a validated conf, and APISIX
 * forgets its tokens {@link RunnerConfig#CONF_EXPIRE_MARGIN} before we drop them, so expiry here is
 * memory housekeeping, not a security boundary (and memory stays bounded by the capacity).
 */
public final class ConfStore {
    private record Entry(PreparedConf conf, long expiresAtNanos) {
    }

    private final ConcurrentHashMap<Long, Entry> entries = new ConcurrentHashMap<>();
    /** Tokens in insertion order; guarded by {@code this}. */
    private final ArrayDeque<Long> order = new ArrayDeque<>();
    private final AtomicLong nextToken = new AtomicLong(1);
    private final LongAdder evictions = new LongAdder();
    private final long lifetimeNanos;
    private final int capacity;
    private final LongSupplier nanoTime;

    public ConfStore(Duration lifetime, int capacity) {
        this(lifetime, capacity, System::nanoTime);
    }

    ConfStore(Duration lifetime, int capacity, LongSupplier nanoTime) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.lifetimeNanos = lifetime.toNanos();
        this.capacity = capacity;
        this.nanoTime = nanoTime;
    }

    public long newToken() {
        return nextToken.getAndIncrement();
    }

    public void put(PreparedConf conf) {
        long token = conf.identity().token();
        long now = nanoTime.getAsLong();
        synchronized (this) {
            trim(now);
            while (entries.size() >= capacity && !order.isEmpty()) {
                if (entries.remove(order.pollFirst()) != null) {
                    evictions.increment();
                }
            }
            if (entries.put(token, new Entry(conf, now + lifetimeNanos)) == null) {
                order.addLast(token);
            }
        }
    }

    /** The conf of {@code token}, or null if unknown or already dropped (APISIX then re-prepares). */
    public PreparedConf get(long token) {
        Entry e = entries.get(token);
        return e == null ? null : e.conf;
    }

    /** Live tokens, after dropping the expired ones. */
    public long size() {
        long now = nanoTime.getAsLong();
        synchronized (this) {
            trim(now);
        }
        return entries.size();
    }

    public long evictions() {
        return evictions.sum();
    }

    /** Drops expired tokens from the head of the FIFO (the oldest expire first). */
    private void trim(long now) {
        while (!order.isEmpty()) {
            Long head = order.peekFirst();
            Entry e = entries.get(head);
            if (e != null && now - e.expiresAtNanos < 0) {
                return;
            }
            order.pollFirst();
            if (e != null) {
                entries.remove(head, e);
            }
        }
    }
}
