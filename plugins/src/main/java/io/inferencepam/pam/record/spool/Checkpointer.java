package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.ChainedEntry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides when the chain gets a signed checkpoint, and links it: after {@code every} entries, or
 * {@code interval} after an entry no checkpoint covers yet, or when forced (shutdown), and the
 * anchor that opens a lifetime. Used by the chain stage's thread only.
 */
final class Checkpointer {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private final HashChain chain;
    private final Optional<CheckpointSigner> signer;
    private final long every;
    private final Duration interval;
    private final Clock clock;
    private final AuditWriter.Stats stats;
    private long lastSeq;
    private long lastAt;

    Checkpointer(HashChain chain, Optional<CheckpointSigner> signer, long every, Duration interval, Clock clock,
                 AuditWriter.Stats stats) {
        this.chain = chain;
        this.signer = signer;
        this.every = every;
        this.interval = interval;
        this.clock = clock;
        this.stats = stats;
        this.lastAt = clock.millis();
    }

    boolean signs() {
        return signer.isPresent();
    }

    /**
     * Milliseconds until a checkpoint is due for entries no checkpoint covers yet (0: now), or -1
     * when nothing waits for one: an idle chain needs no timer.
     */
    long dueInMillis() {
        if (signer.isEmpty() || chain.seq() == lastSeq) {
            return -1;
        }
        return Math.max(0, lastAt + interval.toMillis() - clock.millis());
    }

    /** Links a checkpoint into {@code linked} if one is due (or {@code force}d) and anything is uncovered. */
    void maybe(List<ChainedEntry> linked, boolean force) {
        if (signer.isEmpty() || chain.seq() == lastSeq) {
            return;
        }
        long now = clock.millis();
        if (force || chain.seq() - lastSeq >= every || now - lastAt >= interval.toMillis()) {
            link(linked, now, null);
        }
    }

    /** Links the anchor: a signed checkpoint carrying {@code fields} (see {@code ChainAnchor}). No-op without a signer. */
    void anchor(List<ChainedEntry> linked, ObjectNode fields) {
        if (signer.isPresent()) {
            link(linked, clock.millis(), fields);
        }
    }

    /**
     * Links and signs a checkpoint. It carries the interval promised ({@code interval_ms}: verify
     * reports entries left uncovered for longer as a possible truncation), the id of the signing
     * key, and when the previous checkpoint was made, or instead {@code extra} fields (the anchor).
     */
    private void link(List<ChainedEntry> linked, long now, ObjectNode extra) {
        ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
        if (extra != null) {
            cp.setAll(extra);
        }
        cp.put("kind", "checkpoint");
        cp.put("ts", Instant.ofEpochMilli(now).toString());
        cp.put("covers_seq", chain.seq());
        cp.put("interval_ms", interval.toMillis());
        if (extra == null) {
            // lets verify bound the age of entries cut before this checkpoint (an anchor has prev_at)
            cp.put(ChainVerifier.PREV_CHECKPOINT_AT, lastAt);
        }
        signer.get().keyId().ifPresent(id -> cp.put("key_id", id));
        chain.link(cp);
        try {
            cp.put(HashChain.SIG, signer.get().sign(cp.get(HashChain.HASH).asText()));
        } catch (RuntimeException | Error e) {
            // The checkpoint is in the chain now: stored unsigned (verify reports it), it leaves
            // no gap; thrown, it would take the round's records with it.
            stats.unsignedCheckpoints.incrementAndGet();
            LOG.error("audit checkpoint could not be signed, stored unsigned: {}", e.getClass().getName());
        }
        linked.add(new ChainedEntry(chain.instance(), chain.seq(), CanonicalJson.utf8(cp)));
        lastSeq = chain.seq();
        lastAt = now;
        stats.checkpoints.incrementAndGet();
    }
}
