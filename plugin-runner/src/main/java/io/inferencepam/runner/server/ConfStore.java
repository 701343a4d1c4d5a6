package io.inferencepam.runner.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.inferencepam.runner.conf.PreparedConf;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Conf tokens handed to APISIX. Entries live APISIX's token lifetime plus a margin, so APISIX
 * always drops a token before we do; the capacity bound protects memory, and every eviction is
 * counted because it costs APISIX a flush-and-re-prepare of every route.
 */
public final class ConfStore {
    private final Cache<Long, PreparedConf> cache;
    private final AtomicLong nextToken = new AtomicLong(1);
    private final LongAdder evictions = new LongAdder();

    public ConfStore(Duration lifetime, int capacity) {
        this.cache = Caffeine.newBuilder()
                .expireAfterWrite(lifetime)
                .maximumSize(capacity)
                .removalListener((Long k, PreparedConf v, RemovalCause cause) -> {
                    if (cause == RemovalCause.SIZE) {
                        evictions.increment();
                    }
                })
                .build();
    }

    public long newToken() {
        return nextToken.getAndIncrement();
    }

    public void put(PreparedConf conf) {
        cache.put(conf.identity().token(), conf);
    }

    public PreparedConf get(long token) {
        return cache.getIfPresent(token);
    }

    public long size() {
        return cache.estimatedSize();
    }

    public long evictions() {
        cache.cleanUp();
        return evictions.sum();
    }
}
