package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.spool.Spool;
import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where this runner's chain goes on at start. One instance id per runner (the configured
 * {@code PAM_AUDIT_INSTANCE_ID}, else the one its spool directory remembers, else a new one),
 * and one chain across its lifetimes: the first entry of a lifetime is a signed checkpoint (the
 * anchor) that links to the previous lifetime's last entry, so a cut tail or a deleted lifetime
 * leaves a gap that verify reports. The anchor says where its link came from:
 * <ul>
 *   <li>{@code local}: the chain head the previous lifetime left on this disk (or the store's
 *       newest entry when that is newer, e.g. after an OS crash lost the last head update; the
 *       local head is then named too, and verify checks the store still holds it);</li>
 *   <li>{@code store}: no local head (a fresh disk) for a configured instance id: the store's
 *       newest entry of that instance. Verify reports this re-anchoring: a cut made before it
 *       cannot be told from the end of the chain;</li>
 *   <li>{@code genesis}: a new instance, seq 1.</li>
 * </ul>
 */
public final class ChainAnchor {
    private static final Logger LOG = LoggerFactory.getLogger(ChainAnchor.class);

    /** The chain to go on with and the fields of its opening checkpoint. */
    public record Start(HashChain chain, ObjectNode anchor, String source) {
    }

    private ChainAnchor() {
    }

    /**
     * @throws IOException when a configured instance has no local head and the store cannot be
     *                     read: starting a chain then could fork it (the start is retried at the next conf)
     */
    public static Start resume(Optional<String> configured, Optional<ChainHead> local, AuditSink sink, Supplier<String> newId)
            throws IOException {
        String instance = configured.orElseGet(() -> local.map(ChainHead::instance).orElseGet(newId));
        Optional<ChainHead> mine = local.filter(h -> h.instance().equals(instance));
        if (local.isPresent() && mine.isEmpty()) {
            LOG.warn("audit: the spool directory's chain head belongs to instance {}, PAM_AUDIT_INSTANCE_ID is {}: "
                    + "that chain ends here", local.get().instance(), instance);
        }
        Optional<ChainHead> inStore = Optional.empty();
        if (configured.isPresent() || mine.isPresent()) {
            try {
                inStore = newestStored(sink, instance);
            } catch (Exception e) {
                if (mine.isEmpty()) {
                    throw new IOException("audit instance " + instance + " has no local chain head and the audit store ("
                            + sink.kind() + ") cannot be read to re-anchor it (" + e.getClass().getSimpleName() + ")");
                }
                LOG.warn("audit store ({}) not readable at start ({}): the chain goes on from the local head", sink.kind(),
                        e.getClass().getSimpleName());
            }
        }
        ObjectNode anchor = CanonicalJson.MAPPER.createObjectNode();
        if (mine.isPresent()) {
            ChainHead h = mine.get();
            anchor.put("source", "local");
            anchor.put("prev_at", h.atMillis());
            ChainHead link = h;
            if (inStore.isPresent() && inStore.get().seq() > h.seq()) {
                link = inStore.get(); // the local head missed its last update (an OS crash): the store is ahead
                anchor.put("local_seq", h.seq());
                anchor.put("local_hash", h.hash());
            } else if (inStore.isPresent() && inStore.get().seq() < h.seq()) {
                LOG.warn("audit store holds instance {} up to seq {}, this runner made it durable up to seq {}: entries {}..{} "
                        + "are missing from the store unless still in the local spool", instance, inStore.get().seq(), h.seq(),
                        inStore.get().seq() + 1, h.seq());
            }
            return new Start(new HashChain(instance, link.seq(), link.hash()), wrap(anchor), "local");
        }
        if (inStore.isPresent()) {
            ChainHead s = inStore.get();
            anchor.put("source", "store");
            LOG.warn("audit instance {} has no local chain head (a fresh disk?): re-anchored on the store's newest entry, seq {}; "
                    + "verify reports this", instance, s.seq());
            return new Start(new HashChain(instance, s.seq(), s.hash()), wrap(anchor), "store");
        }
        anchor.put("source", "genesis");
        return new Start(new HashChain(instance), wrap(anchor), "genesis");
    }

    /**
     * The local chain head: the chain head file's, or the spool's last entry when that is newer
     * (a crash between a spool append and the head file's update; or a torn head file).
     */
    public static Optional<ChainHead> localHead(Optional<ChainHead> headFile, Optional<Spool.Tail> spoolTail) {
        Optional<ChainHead> spooled = spoolTail.flatMap(t -> {
            try {
                JsonNode n = CanonicalJson.parse(t.line());
                return n.path(HashChain.INSTANCE).isTextual() && n.path(HashChain.SEQ).canConvertToLong() && n.path(HashChain.HASH).isTextual()
                        ? Optional.of(new ChainHead(n.get(HashChain.INSTANCE).asText(), n.get(HashChain.SEQ).asLong(),
                        n.get(HashChain.HASH).asText(), t.writtenAt())) : Optional.empty();
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        });
        if (spooled.isEmpty() || headFile.isPresent() && (!headFile.get().instance().equals(spooled.get().instance())
                || headFile.get().seq() >= spooled.get().seq())) {
            return headFile;
        }
        LOG.warn("audit chain head file {} the local spool (seq {}): going on after the spooled entry", headFile.isEmpty()
                ? "unreadable, the chain head taken from" : "behind", spooled.get().seq());
        return spooled;
    }

    private static ObjectNode wrap(ObjectNode anchor) {
        ObjectNode fields = CanonicalJson.MAPPER.createObjectNode();
        fields.set("anchor", anchor);
        return fields;
    }

    private static Optional<ChainHead> newestStored(AuditSink sink, String instance) throws Exception {
        Optional<StoredEntry> e = sink.newest(instance);
        if (e.isEmpty()) {
            return Optional.empty();
        }
        JsonNode n = CanonicalJson.parse(e.get().json());
        if (!n.path(HashChain.SEQ).canConvertToLong() || !n.path(HashChain.HASH).isTextual()) {
            throw new IOException("the store's newest entry of this instance carries no chain fields");
        }
        return Optional.of(new ChainHead(instance, n.get(HashChain.SEQ).asLong(), n.get(HashChain.HASH).asText(), 0));
    }
}
