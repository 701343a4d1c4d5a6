package io.inferencepam.runner.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inferencepam.runner.spi.Attributes;
import java.time.Duration;

/**
 * State shared by the request and response phases of one HTTP call, keyed by nginx
 * {@code request_id}. Bounded and time-limited: a call whose response phase never comes (a Stop,
 * an upstream failure) must not leak.
 */
public final class ExchangeStore {
    private final Cache<String, Attributes> cache;

    public ExchangeStore(Duration idle, int capacity) {
        // Maintenance (expiry, eviction) stays on Caffeine's default executor: open() is called on
        // the event loop, and running maintenance there could expire a flood of never-closed
        // exchanges (calls stopped in the request phase) in one pass, stalling the loop. It costs
        // a pool wake-up every few calls (measured ~15 µs of CPU per correlated call on 2 cores).
        cache = Caffeine.newBuilder().expireAfterAccess(idle).maximumSize(capacity).build();
    }

    public Attributes open(String requestId) {
        return cache.get(requestId, k -> new Attributes());
    }

    public void close(String requestId) {
        cache.invalidate(requestId);
    }

    public long size() {
        return cache.estimatedSize();
    }
}
