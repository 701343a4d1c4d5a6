package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Attributes;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ExchangeStoreTest {
    @Test
    void bothPhasesOfACallShareOneExchangeUntilItIsClosed() {
        ExchangeStore store = new ExchangeStore(Duration.ofMinutes(5), 100);
        Attributes request = store.open("r1");
        assertThat(store.open("r1")).isSameAs(request);
        assertThat(store.open("r2")).isNotSameAs(request);
        store.close("r1");
        assertThat(store.size()).isEqualTo(1);
        assertThat(store.open("r1")).isNotSameAs(request);
    }

    @Test
    void pastTheCapacityTheOldestIsDropped() {
        ExchangeStore store = new ExchangeStore(Duration.ofMinutes(5), 3);
        Attributes first = store.open("a");
        Attributes second = store.open("b");
        store.open("c");
        store.open("d");
        assertThat(store.size()).isEqualTo(3);
        assertThat(store.open("b")).isSameAs(second);
        assertThat(store.open("a")).isNotSameAs(first); // "a" was dropped (and is back now, as new)
    }

    @Test
    void exchangesOpenLongerThanTheIdleTimeExpireABoundedFewPerOpen() throws Exception {
        ExchangeStore store = new ExchangeStore(Duration.ofMillis(500), 100_000); // far longer than the flood takes to open
        int flood = ExchangeStore.EXPIRE_PER_OPEN * 3 + 5; // e.g. calls stopped in the request phase: never closed
        for (int i = 0; i < flood; i++) {
            store.open("flood-" + i);
        }
        Thread.sleep(600);
        store.open("next-1");
        // one open expires at most EXPIRE_PER_OPEN: the event loop never pays for a whole flood at once
        assertThat(store.size()).isEqualTo(flood - ExchangeStore.EXPIRE_PER_OPEN + 1);
        for (int i = 2; i <= 4; i++) {
            store.open("next-" + i);
        }
        assertThat(store.size()).isEqualTo(4); // the flood is gone, the fresh ones stay
    }
}
