package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a runner's chain goes on at start (the store here is the real file sink). */
class ChainAnchorTest {
    @TempDir
    Path dir;

    private JsonLinesFileSink storeWith(String instance, int entries) throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir, 1 << 20, 0);
        HashChain c = new HashChain(instance);
        for (int i = 0; i < entries; i++) {
            ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
            r.put("kind", "call");
            byte[] json = c.linkAndEncode(r);
            sink.write(List.of(new ChainedEntry(instance, c.seq(), json)));
        }
        return sink;
    }

    @Test
    void aNewRunnerStartsAtGenesisWithANewId() throws Exception {
        ChainAnchor.Start s = ChainAnchor.resume(Optional.empty(), Optional.empty(), storeWith("other", 2), () -> "new-id");
        assertThat(s.chain().instance()).isEqualTo("new-id");
        assertThat(s.chain().seq()).isZero();
        assertThat(s.anchor().path("anchor").path("source").asText()).isEqualTo("genesis");
    }

    @Test
    void aRestartGoesOnFromTheLocalHeadEvenWhenTheStoreWasCut() throws Exception {
        JsonLinesFileSink store = storeWith("gw-1", 3); // the store was cut back to seq 3
        ChainHead local = new ChainHead("gw-1", 9, "c".repeat(64), 1234);
        ChainAnchor.Start s = ChainAnchor.resume(Optional.empty(), Optional.of(local), store, () -> "unused");
        assertThat(s.chain().instance()).isEqualTo("gw-1");
        assertThat(s.chain().seq()).isEqualTo(9);
        assertThat(s.chain().lastHash()).isEqualTo("c".repeat(64));
        assertThat(s.anchor().path("anchor").path("source").asText()).isEqualTo("local");
        assertThat(s.anchor().path("anchor").path("prev_at").asLong()).isEqualTo(1234);
    }

    @Test
    void aStoreAheadOfALaggingLocalHeadIsFollowedAndTheLocalHeadNamed() throws Exception {
        JsonLinesFileSink store = storeWith("gw-1", 5);
        ChainHead local = new ChainHead("gw-1", 2, "d".repeat(64), 1);
        ChainAnchor.Start s = ChainAnchor.resume(Optional.empty(), Optional.of(local), store, () -> "unused");
        assertThat(s.chain().seq()).isEqualTo(5);
        assertThat(s.anchor().path("anchor").path("local_seq").asLong()).isEqualTo(2);
        assertThat(s.anchor().path("anchor").path("local_hash").asText()).isEqualTo("d".repeat(64));
    }

    @Test
    void aFreshDiskWithAConfiguredInstanceReanchorsOnTheStore() throws Exception {
        JsonLinesFileSink store = storeWith("gw-1", 4);
        ChainAnchor.Start s = ChainAnchor.resume(Optional.of("gw-1"), Optional.empty(), store, () -> "unused");
        assertThat(s.chain().seq()).isEqualTo(4);
        assertThat(s.anchor().path("anchor").path("source").asText()).isEqualTo("store");
        // a configured instance the store has never seen starts at genesis
        assertThat(ChainAnchor.resume(Optional.of("gw-2"), Optional.empty(), store, () -> "unused").source()).isEqualTo("genesis");
    }
}
