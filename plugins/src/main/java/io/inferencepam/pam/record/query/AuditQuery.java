package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Search, show, export and verify over a store: shared by the control API and pamctl. */
public final class AuditQuery {
    private final AuditSink store;

    public AuditQuery(AuditSink store) {
        this.store = store;
    }

    public List<JsonNode> search(AuditFilter filter) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        store.scan(filter.scanFromMillis(), e -> {
            JsonNode n = parse(e);
            if (n != null && filter.matches(n)) {
                out.add(n);
            }
            return out.size() < filter.limit();
        });
        return out;
    }

    /** The call record with this id (nginx request_id); the last one if stored twice. */
    public Optional<JsonNode> show(String id) throws Exception {
        JsonNode[] found = new JsonNode[1];
        store.scan(0, e -> {
            if (e.json().contains(id)) {
                JsonNode n = parse(e);
                if (n != null && "call".equals(n.path("kind").asText()) && id.equals(n.path("id").asText())) {
                    found[0] = n;
                }
            }
            return true;
        });
        return Optional.ofNullable(found[0]);
    }

    /**
     * JSON lines, exactly as stored (so an export can itself be verified). With no filter,
     * checkpoints are included; with a filter, only matching call records.
     */
    public long exportJsonl(AuditFilter filter, Writer out) throws Exception {
        boolean all = filter.equals(AuditFilter.ALL);
        long[] n = {0};
        store.scan(filter.scanFromMillis(), e -> {
            JsonNode node = all ? null : parse(e);
            if (all || (node != null && filter.matches(node))) {
                try {
                    out.write(e.json());
                    out.write('\n');
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
                n[0]++;
            }
            return n[0] < filter.limit();
        });
        out.flush();
        return n[0];
    }

    /** Verifies with one key (or none: nothing is then verified), this store's retention, no known heads. */
    public ChainVerifier.Report verify(Optional<PublicKey> key, boolean complete) throws Exception {
        return verify(new ChainVerifier.Options(key.map(List::of).orElse(List.of()), complete, store.retention(), List.of(),
                java.time.Clock.systemUTC(), java.time.Duration.ofMinutes(1)));
    }

    public ChainVerifier.Report verify(ChainVerifier.Options options) throws Exception {
        List<StoredEntry> entries = new ArrayList<>();
        store.scan(0, e -> {
            entries.add(e);
            return true;
        });
        return new ChainVerifier(options).verify(entries);
    }

    private static JsonNode parse(StoredEntry e) {
        try {
            return CanonicalJson.parse(e.json());
        } catch (IOException ex) {
            return null;
        }
    }
}
