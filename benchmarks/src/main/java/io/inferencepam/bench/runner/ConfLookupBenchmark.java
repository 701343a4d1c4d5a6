package io.inferencepam.bench.runner;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.server.ConfStore;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Plugin;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * G13 (docs/performance.md): the conf-token lookup every call does ({@link ConfStore#get}) must
 * cost ≤ 100 ns. Tokens are looked up in a scrambled order over {@code liveConfs} entries (a
 * gateway with that many route × phase confs). Baselines in the same class: a plain
 * {@link ConcurrentHashMap} with the same keys (the floor), and the store's previous
 * implementation, a Caffeine cache with expireAfterWrite + maximumSize (kept here to show the
 * before/after side by side).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3)
@Threads(2)
public class ConfLookupBenchmark {
    @Param({"100", "5000"})
    int liveConfs;

    private ConfStore store;
    private Cache<Long, PreparedConf> caffeine;
    private final ConcurrentHashMap<Long, PreparedConf> map = new ConcurrentHashMap<>();
    private long[] order;
    private long[] tokens;

    @Setup
    public void setUp() {
        store = new ConfStore(Duration.ofSeconds(3610), 10_000);
        caffeine = Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(3610)).maximumSize(10_000).build();
        Plugin noop = new Plugin() {
        };
        tokens = new long[liveConfs];
        for (int i = 0; i < liveConfs; i++) {
            long token = store.newToken();
            tokens[i] = token;
            PreparedConf c = PreparedConf.of(ConfIdentity.fromKey("route#r" + i + "#ext-plugin-pre-req#1", "h", token),
                    List.of("bench-noop"), List.of(noop));
            store.put(c);
            map.put(token, c);
            caffeine.put(token, c);
        }
        order = new long[4096];
        for (int i = 0; i < order.length; i++) {
            order[i] = tokens[(int) ((i * 2654435761L) % liveConfs)]; // scrambled, every token reached
        }
    }

    @State(Scope.Thread)
    public static class Cursor {
        int i;
    }

    @Benchmark
    public Object confStoreGet(Cursor c) {
        return store.get(order[c.i++ & (4096 - 1)]);
    }

    @Benchmark
    public PreparedConf beforeCaffeineCache(Cursor c) {
        return caffeine.getIfPresent(order[c.i++ & (4096 - 1)]);
    }

    @Benchmark
    public PreparedConf baselineConcurrentHashMap(Cursor c) {
        return map.get(order[c.i++ & (4096 - 1)]);
    }
}
