package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Phase;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Conf tokens handed to APISIX, each bound to one phase. Entries live APISIX's token lifetime plus
 * a margin, so APISIX always drops a token before we do; the capacity bound protects memory, and
 * every eviction is counted because it costs APISIX a flush-and-re-prepare of every route.
 *
 * <p><b>Tokens are unknowable to another lifetime of the runner.</b> APISIX workers keep their
 * tokens across a restart of a separately run runner (compose, sidecar, systemd) and re-prepare
 * only when told CONF_TOKEN_NOT_FOUND (conformance N2, R7c): a new process that issued the same
 * number for another route's conf would run that conf. Tokens are {@code uint32} in the A6
 * protocol (PrepareConf.Resp, HTTPReqCall.Req, HTTPRespCall.Req; APISIX keeps them in a Lua
 * number, exact up to 2^53). Each store counts up from a random base, skipping 0 (the FlatBuffers
 * default, i.e. "no token"): the N live tokens of one lifetime and the M stale tokens of the last
 * are two runs of consecutive numbers, which overlap with probability about (N + M) / 2^32 —
 * below 5·10^-6 even with 10 000 of each — where tokens drawn at random each would collide with
 * probability about N·M / 2^32 (2 % for the same numbers). Nothing is secret about a token: only
 * APISIX and the runner see the socket.
 *
 * <p>Why not a general-purpose cache: every call looks its token up (on the event loop), while
 * tokens are only added at PrepareConf. Lookups are a plain {@link ConcurrentHashMap} read — no
 * clock read, no read buffers, no maintenance work handed to another thread. Entries are kept in
 * two FIFOs by insertion, one per lifetime (the full one, and the short one of a fail-closed
 * token refused for a passing reason): within a FIFO the oldest entry is the next to expire, so
 * trimming its head, under a lock on the (rare) insert and on {@link #size()} (the metrics
 * scrape), is the whole expiry policy. Over capacity the oldest entry goes, whatever its lifetime:
 * the newest tokens are the ones APISIX is using (every CONF_TOKEN_NOT_FOUND makes a worker prepare
 * its routes again, leaving its older tokens dead), and a short-lived token is always about to be used —
 * evicting it before its call arrives would answer that call CONF_TOKEN_NOT_FOUND, and three
 * misses in a row make APISIX release the original body (R7b).
 *
 * <p>Lookups check expiry only for short-lived entries: their expiry is what makes APISIX
 * re-prepare soon. Otherwise a token is an immutable snapshot of a validated conf, and APISIX
 * forgets its tokens {@link RunnerConfig#CONF_EXPIRE_MARGIN} before we drop them, so expiry is
 * memory housekeeping, not a security boundary (and memory stays bounded by the capacity).
 */
public final class ConfStore {
    /**
     * How long a fail-closed token refused for a passing reason (deadline, full executor) lives:
     * APISIX then gets CONF_TOKEN_NOT_FOUND and prepares again, instead of holding the token for
     * its whole cache lifetime. Long enough that a token is used within it (APISIX sends the call
     * right after PrepareConf returns; three misses in a row would make it release the upstream
     * body, R7b), short enough that a route recovers within seconds.
     */
    public static final Duration PASSING_REFUSAL_LIFETIME = Duration.ofSeconds(5);
    private static final long TOKEN_MASK = 0xFFFF_FFFFL;

    /** @param seq insertion order across both FIFOs */
    private record Entry(ConfBinding binding, long seq, long expiresAtNanos, boolean shortLived) {
    }

    private final ConcurrentHashMap<Long, Entry> entries = new ConcurrentHashMap<>();
    /** Tokens in insertion order, one FIFO per lifetime; guarded by {@code this}. */
    private final ArrayDeque<Long> lasting = new ArrayDeque<>();
    private final ArrayDeque<Long> shortLived = new ArrayDeque<>();
    private final long base;
    private final AtomicLong issued = new AtomicLong();
    /** Guarded by {@code this}. */
    private long inserted;
    private final LongAdder evictions = new LongAdder();
    private final long lifetimeNanos;
    private final long shortLifetimeNanos;
    private final int capacity;
    private final LongSupplier nanoTime;

    public ConfStore(Duration lifetime, int capacity) {
        this(lifetime, PASSING_REFUSAL_LIFETIME, capacity, System::nanoTime, new SecureRandom().nextLong());
    }

    ConfStore(Duration lifetime, int capacity, LongSupplier nanoTime) {
        this(lifetime, PASSING_REFUSAL_LIFETIME, capacity, nanoTime, new SecureRandom().nextLong());
    }

    ConfStore(Duration lifetime, Duration shortLifetime, int capacity, LongSupplier nanoTime, long base) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.lifetimeNanos = lifetime.toNanos();
        this.shortLifetimeNanos = Math.min(shortLifetime.toNanos(), lifetimeNanos);
        this.capacity = capacity;
        this.nanoTime = nanoTime;
        this.base = base & TOKEN_MASK;
    }

    /**
     * A token in [1, 2^32 − 1] that no live entry holds. Wrapping around takes 2^32 PrepareConfs,
     * far more than one token lifetime sees; a number still held then is skipped.
     */
    public long newToken() {
        while (true) {
            long token = (base + issued.getAndIncrement()) & TOKEN_MASK;
            if (token != 0 && !entries.containsKey(token)) {
                return token;
            }
        }
    }

    /**
     * Binds the conf's token to it, for the phase its key names.
     *
     * @return false if the token is already bound (a binding is never replaced)
     * @throws IllegalArgumentException if the key names no phase: such a token could not be bound
     */
    public boolean put(PreparedConf conf) {
        Phase phase = conf.phase().orElseThrow(() -> new IllegalArgumentException(
                "the conf key names no ext-plugin phase; its token cannot be bound to one"));
        return bind(conf.identity().token(), new ConfBinding.Compiled(conf, phase), false);
    }

    /**
     * Binds {@code token} to a fail-closed conf: each call using it gets the phase's safe error.
     * A token refused for a passing reason lives {@link #PASSING_REFUSAL_LIFETIME}, the others as
     * long as any token.
     *
     * @return false if the token is already bound
     */
    boolean putFailClosed(long token, ConfBinding.FailClosed binding) {
        return bind(token, binding, binding.reason().passing);
    }

    private boolean bind(long token, ConfBinding binding, boolean shortLifetime) {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            trim(now);
            if (entries.containsKey(token)) {
                return false;
            }
            while (entries.size() >= capacity && !(shortLived.isEmpty() && lasting.isEmpty())) {
                if (entries.remove(olderHead().pollFirst()) != null) {
                    evictions.increment();
                }
            }
            entries.put(token, new Entry(binding, inserted++, now + (shortLifetime ? shortLifetimeNanos : lifetimeNanos),
                    shortLifetime));
            (shortLifetime ? shortLived : lasting).addLast(token);
            return true;
        }
    }

    /** What {@code token} stands for, or null if unknown or dropped (APISIX then re-prepares). */
    public ConfBinding get(long token) {
        Entry e = entries.get(token);
        if (e == null || e.shortLived && nanoTime.getAsLong() - e.expiresAtNanos >= 0) {
            return null;
        }
        return e.binding;
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

    /** The FIFO, not both empty, whose head was inserted first. Caller holds the lock. */
    private ArrayDeque<Long> olderHead() {
        if (lasting.isEmpty() || shortLived.isEmpty()) {
            return lasting.isEmpty() ? shortLived : lasting;
        }
        // Both heads are present: entries leave the map only together with their FIFO slot, under the lock.
        return entries.get(lasting.peekFirst()).seq < entries.get(shortLived.peekFirst()).seq ? lasting : shortLived;
    }

    private void trim(long now) {
        trim(lasting, now);
        trim(shortLived, now);
    }

    /** Drops expired tokens from the head of a FIFO (within one, the oldest expire first). */
    private void trim(ArrayDeque<Long> fifo, long now) {
        while (!fifo.isEmpty()) {
            Long head = fifo.peekFirst();
            Entry e = entries.get(head);
            if (e != null && now - e.expiresAtNanos < 0) {
                return;
            }
            fifo.pollFirst();
            if (e != null) {
                entries.remove(head, e);
            }
        }
    }
}
