package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Plugin;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConfStoreTest {
    private final AtomicLong now = new AtomicLong(1_000);

    private static PreparedConf conf(long token) {
        return PreparedConf.of(new ConfIdentity("route#r" + token + "#ext-plugin-pre-req#1", "r" + token,
                "ext-plugin-pre-req", "h", token), List.of("p"), List.of(new Plugin() {
                }));
    }

    private PreparedConf add(ConfStore store) {
        PreparedConf c = conf(store.newToken());
        store.put(c);
        return c;
    }

    @Test
    void findsLiveTokensAndNotUnknownOnes() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 100, now::get);
        PreparedConf a = add(store);
        PreparedConf b = add(store);
        assertThat(store.get(a.identity().token())).isSameAs(a);
        assertThat(store.get(b.identity().token())).isSameAs(b);
        assertThat(store.get(999)).isNull();
        assertThat(store.size()).isEqualTo(2);
    }

    @Test
    void expiredTokensAreDroppedAtTheNextInsertOrSizeAndAreNotCountedAsEvictions() {
        ConfStore store = new ConfStore(Duration.ofNanos(100), 100, now::get);
        PreparedConf a = add(store);
        now.addAndGet(99);
        assertThat(store.size()).isEqualTo(1);
        assertThat(store.get(a.identity().token())).isSameAs(a);
        now.addAndGet(1);
        PreparedConf b = add(store); // the insert trims the expired head
        assertThat(store.get(a.identity().token())).isNull();
        assertThat(store.get(b.identity().token())).isSameAs(b);
        now.addAndGet(100);
        assertThat(store.size()).isZero();
        assertThat(store.get(b.identity().token())).isNull();
        assertThat(store.evictions()).isZero();
    }

    @Test
    void overCapacityEvictsTheOldestTokenAndCountsIt() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 3, now::get);
        PreparedConf first = add(store);
        PreparedConf second = add(store);
        add(store);
        PreparedConf fourth = add(store);
        assertThat(store.size()).isEqualTo(3);
        assertThat(store.get(first.identity().token())).isNull();
        assertThat(store.get(second.identity().token())).isSameAs(second);
        assertThat(store.get(fourth.identity().token())).isSameAs(fourth);
        assertThat(store.evictions()).isEqualTo(1);
    }

    @Test
    void capacityCountsOnlyLiveTokens() {
        ConfStore store = new ConfStore(Duration.ofNanos(10), 2, now::get);
        add(store);
        add(store);
        now.addAndGet(10);
        PreparedConf c = add(store); // both expired: trimmed, not evicted
        PreparedConf d = add(store);
        assertThat(store.get(c.identity().token())).isSameAs(c);
        assertThat(store.get(d.identity().token())).isSameAs(d);
        assertThat(store.evictions()).isZero();
    }
}
