package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.ChainedEntry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When checkpoints are due, and that an idle chain needs no timer. */
class CheckpointerTest {
    private final AuditWriter.Stats stats = new AuditWriter.Stats();
    private final HashChain chain = new HashChain("cp");
    private final MutableClock clock = new MutableClock();
    private final Checkpointer cp = new Checkpointer(chain, Optional.of(CheckpointSigner.fromPkcs8Base64(CheckpointSigner.generate()[0])),
            3, Duration.ofSeconds(10), clock, stats);

    static final class MutableClock extends Clock {
        long millis = 1_000_000;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    private void link(int n) {
        for (int i = 0; i < n; i++) {
            chain.link(AuditWriterTest.record(i));
        }
    }

    @Test
    void nothingUncoveredMeansNoTimerAndNoCheckpoint() {
        assertThat(cp.dueInMillis()).isEqualTo(-1);
        List<ChainedEntry> linked = new ArrayList<>();
        cp.maybe(linked, true);
        assertThat(linked).isEmpty();
    }

    @Test
    void anUncoveredEntryIsDueAfterTheIntervalAndThenCovered() throws Exception {
        link(1);
        assertThat(cp.dueInMillis()).isEqualTo(10_000);
        List<ChainedEntry> linked = new ArrayList<>();
        cp.maybe(linked, false);
        assertThat(linked).isEmpty();
        clock.millis += 10_000;
        assertThat(cp.dueInMillis()).isZero();
        cp.maybe(linked, false);
        assertThat(linked).hasSize(1);
        var n = CanonicalJson.parse(linked.get(0).json());
        assertThat(n.path("kind").asText()).isEqualTo("checkpoint");
        assertThat(n.path("covers_seq").asLong()).isEqualTo(1);
        assertThat(n.path("sig").asText()).isNotEmpty();
        assertThat(cp.dueInMillis()).as("covered: no timer").isEqualTo(-1);
    }

    @Test
    void everyNEntriesAndTheAnchorCarriesItsFields() throws Exception {
        link(3);
        List<ChainedEntry> linked = new ArrayList<>();
        cp.maybe(linked, false);
        assertThat(linked).hasSize(1);
        cp.anchor(linked, CanonicalJson.MAPPER.createObjectNode().put("anchor_of", "prev"));
        assertThat(CanonicalJson.parse(linked.get(1).json()).path("anchor_of").asText()).isEqualTo("prev");
        assertThat(stats.checkpoints.get()).isEqualTo(2);
    }

    @Test
    void withoutASignerThereAreNoCheckpointsAndNoTimer() {
        Checkpointer none = new Checkpointer(chain, Optional.empty(), 1, Duration.ofMillis(1), clock, stats);
        link(5);
        assertThat(none.dueInMillis()).isEqualTo(-1);
        List<ChainedEntry> linked = new ArrayList<>();
        none.maybe(linked, true);
        none.anchor(linked, CanonicalJson.MAPPER.createObjectNode());
        assertThat(linked).isEmpty();
    }
}
