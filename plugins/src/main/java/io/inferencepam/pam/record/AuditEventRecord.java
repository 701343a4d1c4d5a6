package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.AuditEvent;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.spool.AuditWriter;
import java.time.Instant;
import java.util.Set;

/**
 * The entry of an {@link AuditEvent}: {@code kind}, {@code v}, a random {@code id} (128 bits, like
 * an admission id: unique across runners), {@code event}, {@code at}, then the event's fields.
 * Built on the audit writer's thread like every record.
 */
record AuditEventRecord(AuditEvent event, String id) implements AuditWriter.Record {
    /** Kinds the trail already gives a meaning to: search and verification read them as such. */
    static final Set<String> RESERVED_KINDS = Set.of("call", Admission.KIND, "checkpoint");
    /** The envelope's fields and the chain's: an event cannot set them. */
    private static final Set<String> ENVELOPE = Set.of("kind", "v", "id", "event", "at", HashChain.INSTANCE, HashChain.SEQ,
            HashChain.PREV, HashChain.HASH, HashChain.SIG);

    AuditEventRecord {
        if (RESERVED_KINDS.contains(event.kind()) || event.kind().isBlank()) {
            throw new IllegalArgumentException("an audit event cannot be of kind '" + event.kind() + "'");
        }
        for (String k : event.fields().keySet()) {
            if (ENVELOPE.contains(k)) {
                throw new IllegalArgumentException("audit event field '" + k + "' is the envelope's or the chain's");
            }
        }
    }

    @Override
    public ObjectNode build() {
        ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
        r.put("kind", event.kind());
        r.put("v", 1);
        r.put("id", id);
        r.put("event", event.event());
        r.put("at", Instant.ofEpochMilli(event.atMillis()).toString());
        event.fields().forEach((k, v) -> r.set(k, CanonicalJson.MAPPER.valueToTree(v)));
        return r;
    }
}
