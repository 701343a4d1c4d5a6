package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConfStoreTest {
    private final AtomicLong now = new AtomicLong(1_000);

    private static PreparedConf conf(long token, String apisixPlugin) {
        return PreparedConf.of(ConfIdentity.fromKey("route#r" + token + "#" + apisixPlugin + "#1", "h", token),
                List.of("p"), List.of(new Plugin() {
                }));
    }

    private PreparedConf add(ConfStore store) {
        PreparedConf c = conf(store.newToken(), "ext-plugin-pre-req");
        assertThat(store.put(c)).isTrue();
        return c;
    }

    private static PreparedConf compiled(ConfStore store, PreparedConf c) {
        ConfBinding b = store.get(c.identity().token());
        return b instanceof ConfBinding.Compiled compiled ? compiled.conf() : null;
    }

    private static ConfBinding.FailClosed refused(ConfBinding.Refusal reason) {
        return new ConfBinding.FailClosed(Optional.of(Phase.RESPONSE), reason);
    }

    @Test
    void findsLiveTokensAndNotUnknownOnes() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 100, now::get);
        PreparedConf a = add(store);
        PreparedConf b = add(store);
        assertThat(compiled(store, a)).isSameAs(a);
        assertThat(compiled(store, b)).isSameAs(b);
        assertThat(store.get(a.identity().token() + 7)).isNull();
        assertThat(store.size()).isEqualTo(2);
    }

    @Test
    void eachStoreStartsAtItsOwnRandomPointAndTokensAreUint32() {
        Set<Long> firsts = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            long t = new ConfStore(Duration.ofSeconds(10), 100).newToken();
            assertThat(t).isBetween(1L, 0xFFFF_FFFFL);
            firsts.add(t);
        }
        // tokens starting at a fixed value (1 in every process) let a stale token name another route's conf
        assertThat(firsts).as("20 runner lifetimes, 20 different first tokens").hasSize(20);
    }

    @Test
    void tokensCountUpWrapWithinUint32AndSkipZero() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofSeconds(1), 100, now::get, 0xFFFF_FFFEL);
        assertThat(List.of(store.newToken(), store.newToken(), store.newToken(), store.newToken()))
                .containsExactly(0xFFFF_FFFEL, 0xFFFF_FFFFL, 1L, 2L);
    }

    @Test
    void aTokenStillHeldIsNotIssuedAgainAfterAWrapAround() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofSeconds(1), 100, now::get, 0xFFFF_FFFFL);
        PreparedConf held = conf(1, "ext-plugin-pre-req");
        store.put(held);
        assertThat(store.newToken()).isEqualTo(0xFFFF_FFFFL);
        assertThat(store.newToken()).as("0 is no token, 1 is held").isEqualTo(2L);
    }

    @Test
    void aTokenIsBoundToThePhaseItsKeyNames() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 100, now::get);
        PreparedConf pre = conf(store.newToken(), "ext-plugin-pre-req");
        PreparedConf post = conf(store.newToken(), "ext-plugin-post-req");
        PreparedConf resp = conf(store.newToken(), "ext-plugin-post-resp");
        store.put(pre);
        store.put(post);
        store.put(resp);
        assertThat(store.get(pre.identity().token()).serves(Phase.REQUEST)).isTrue();
        assertThat(store.get(pre.identity().token()).serves(Phase.RESPONSE)).isFalse();
        assertThat(store.get(post.identity().token()).serves(Phase.REQUEST)).isTrue();
        assertThat(store.get(post.identity().token()).serves(Phase.RESPONSE)).isFalse();
        assertThat(store.get(resp.identity().token()).serves(Phase.RESPONSE)).isTrue();
        assertThat(store.get(resp.identity().token()).serves(Phase.REQUEST)).isFalse();
    }

    @Test
    void aConfWhoseKeyNamesNoPhaseCannotBeBound() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 100, now::get);
        PreparedConf odd = PreparedConf.of(ConfIdentity.fromKey("probe", "h", store.newToken()), List.of(), List.of());
        assertThatThrownBy(() -> store.put(odd)).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.size()).isZero();
    }

    @Test
    void aBindingIsNeverReplaced() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), 100, now::get);
        long token = store.newToken();
        assertThat(store.putFailClosed(token, refused(ConfBinding.Refusal.DEADLINE))).isTrue();
        assertThat(store.put(conf(token, "ext-plugin-post-resp"))).isFalse();
        assertThat(store.get(token)).isInstanceOf(ConfBinding.FailClosed.class);
        assertThat(store.size()).isEqualTo(1);
    }

    @Test
    void aFailClosedTokenRefusedForAPassingReasonExpiresAtItsShortLifetimeOnLookup() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofNanos(50), 100, now::get, 7);
        long passing = store.newToken();
        long invalid = store.newToken();
        store.putFailClosed(passing, refused(ConfBinding.Refusal.OVERLOADED));
        store.putFailClosed(invalid, refused(ConfBinding.Refusal.INVALID));
        now.addAndGet(49);
        assertThat(store.get(passing)).isNotNull();
        now.addAndGet(1);
        assertThat(store.get(passing)).as("APISIX must be told CONF_TOKEN_NOT_FOUND and prepare again").isNull();
        assertThat(store.get(invalid)).as("a refusal of the conf itself lasts like any token").isNotNull();
        assertThat(store.size()).isEqualTo(1);
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(store.get(invalid)).isNotNull(); // full-lifetime entries are not checked on lookup
        assertThat(store.size()).isZero();
    }

    @Test
    void shortLivedEntriesExpireEvenBehindLongerOnes() {
        // the FIFOs assumed equal lifetimes: a short-lived entry must not wait for an older long-lived head
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofNanos(50), 100, now::get, 7);
        PreparedConf old = add(store);
        long passing = store.newToken();
        store.putFailClosed(passing, refused(ConfBinding.Refusal.DEADLINE));
        now.addAndGet(50);
        assertThat(store.size()).isEqualTo(1);
        assertThat(compiled(store, old)).isSameAs(old);
        assertThat(store.evictions()).isZero();
    }

    @Test
    void overCapacityTheOldestGoesFirstWhateverItsLifetime() {
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofSeconds(5), 3, now::get, 100);
        PreparedConf first = add(store);
        long passing = store.newToken();
        store.putFailClosed(passing, refused(ConfBinding.Refusal.DEADLINE));
        PreparedConf third = add(store);
        PreparedConf fourth = add(store); // evicts `first`, the oldest
        assertThat(compiled(store, first)).isNull();
        assertThat(store.get(passing)).isNotNull();
        PreparedConf fifth = add(store); // then the short-lived one, now the oldest
        assertThat(store.get(passing)).isNull();
        assertThat(compiled(store, third)).isSameAs(third);
        assertThat(compiled(store, fourth)).isSameAs(fourth);
        assertThat(compiled(store, fifth)).isSameAs(fifth);
        assertThat(store.size()).isEqualTo(3);
        assertThat(store.evictions()).isEqualTo(2);
    }

    @Test
    void aFailClosedTokenJustAnsweredOutlivesOlderTokensWhenTheStoreIsFull() {
        // Full of tokens APISIX has long flushed (each CONF_TOKEN_NOT_FOUND makes a worker re-prepare
        // its routes). A post-resp PrepareConf past its deadline gets a short-lived fail-closed token; other
        // PrepareConfs arrive before APISIX sends the call that uses it. Evicting that newest token
        // first would answer the call CONF_TOKEN_NOT_FOUND, and three such misses in a row make
        // APISIX send the original, unmasked upstream body (R7b, P11).
        ConfStore store = new ConfStore(Duration.ofSeconds(10), Duration.ofSeconds(5), 2, now::get, 100);
        PreparedConf flushedA = add(store);
        PreparedConf flushedB = add(store);
        long answered = store.newToken();
        store.putFailClosed(answered, refused(ConfBinding.Refusal.DEADLINE));
        add(store); // another route's PrepareConf, before the call
        assertThat(store.get(answered)).as("the token APISIX is about to use").isNotNull();
        assertThat(compiled(store, flushedA)).isNull();
        assertThat(compiled(store, flushedB)).isNull();
    }

    @Test
    void expiredTokensAreDroppedAtTheNextInsertOrSizeAndAreNotCountedAsEvictions() {
        ConfStore store = new ConfStore(Duration.ofNanos(100), 100, now::get);
        PreparedConf a = add(store);
        now.addAndGet(99);
        assertThat(store.size()).isEqualTo(1);
        assertThat(compiled(store, a)).isSameAs(a);
        now.addAndGet(1);
        PreparedConf b = add(store); // the insert trims the expired head
        assertThat(compiled(store, a)).isNull();
        assertThat(compiled(store, b)).isSameAs(b);
        now.addAndGet(100);
        assertThat(store.size()).isZero();
        assertThat(compiled(store, b)).isNull();
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
        assertThat(compiled(store, first)).isNull();
        assertThat(compiled(store, second)).isSameAs(second);
        assertThat(compiled(store, fourth)).isSameAs(fourth);
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
        assertThat(compiled(store, c)).isSameAs(c);
        assertThat(compiled(store, d)).isSameAs(d);
        assertThat(store.evictions()).isZero();
    }
}
