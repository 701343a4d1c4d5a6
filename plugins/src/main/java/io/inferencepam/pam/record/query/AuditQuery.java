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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Search, show, export and verify over a store: shared by the control API and pamctl. */
public final class AuditQuery {
    private final AuditSink store;

    public AuditQuery(AuditSink store) {
        this.store = store;
    }

    public List<JsonNode> search(AuditFilter filter) throws Exception {
        if (filter.wantsUnfinished()) {
            return unfinished(filter).stream().map(Found::node).toList();
        }
        List<JsonNode> out = new ArrayList<>();
        RepeatedSteps steps = new RepeatedSteps();
        store.scan(filter.scanFromMillis(), e -> {
            JsonNode n = parse(e);
            if (n != null && filter.matches(n) && steps.first(n)) {
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
     * checkpoints are included and so is every entry, a step stored twice too (the chain links
     * both: consumers that show steps skip repeats of an {@code event_id}); with a filter, only
     * matching records, a repeated step once.
     */
    public long exportJsonl(AuditFilter filter, Writer out) throws Exception {
        if (filter.wantsUnfinished()) {
            List<Found> found = unfinished(filter);
            for (Found f : found) {
                out.write(f.entry().json());
                out.write('\n');
            }
            out.flush();
            return found.size();
        }
        boolean all = filter.equals(AuditFilter.ALL);
        long[] n = {0};
        RepeatedSteps steps = new RepeatedSteps();
        store.scan(filter.scanFromMillis(), e -> {
            JsonNode node = all ? null : parse(e);
            if (all || (node != null && filter.matches(node) && steps.first(node))) {
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

    private record Found(StoredEntry entry, JsonNode node) {
    }

    /**
     * Admitted entries matching the filter whose call has no final record (no call record names
     * their {@code admission}), in storage order, at most {@code limit}. A final record is stored
     * after its admitted entry, so one pass suffices; it holds the admitted entries still open at
     * each point of the scan (about the calls in flight then), not the whole store.
     */
    private List<Found> unfinished(AuditFilter filter) throws Exception {
        Map<String, Found> open = new LinkedHashMap<>();
        store.scan(filter.scanFromMillis(), e -> {
            String json = e.json();
            if (!json.contains("\"admission\":\"")) {
                return true; // neither an admitted entry nor a final record linked to one: no parse
            }
            JsonNode n = parse(e);
            if (n == null) {
                return true;
            }
            String admission = n.path("admission").asText(null);
            if (filter.isCall(n) && admission != null) {
                open.remove(admission);
            } else if (admission != null && filter.matches(n)) {
                open.put(admission, new Found(e, n));
            }
            return true;
        });
        return open.values().stream().limit(filter.limit()).toList();
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
        ChainVerifier.Report r = new ChainVerifier(options).verify(entries);
        long repeats = repeatedSteps(entries);
        if (repeats == 0) {
            return r;
        }
        List<String> notes = new ArrayList<>(r.notes());
        notes.add(repeats + " step(s) stored more than once with the same event_id (a runner stopped between writing a "
                + "step and recording that it had; search and filtered exports show each step once)");
        return new ChainVerifier.Report(r.entries(), r.findings(), r.instances(), notes, r.verified());
    }

    /** Entries that repeat an earlier entry's step ({@link RepeatedSteps}); only entries with an event_id are parsed. */
    private static long repeatedSteps(List<StoredEntry> entries) {
        RepeatedSteps steps = new RepeatedSteps();
        long repeats = 0;
        for (StoredEntry e : entries) {
            if (e.json().contains("\"event_id\":")) {
                JsonNode n = parse(e);
                if (n != null && !steps.first(n)) {
                    repeats++;
                }
            }
        }
        return repeats;
    }

    private static JsonNode parse(StoredEntry e) {
        try {
            return CanonicalJson.parse(e.json());
        } catch (IOException ex) {
            return null;
        }
    }
}
