package io.inferencepam.pam.record.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.ChainedEntry;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** {@code search --decision admitted}: the calls the runner admitted and never saw end. */
class AuditQueryUnfinishedTest {
    /** A store as read back: the entries in storage order (the query logic only reads). */
    record Stored(List<String> lines) implements AuditSink {
        @Override
        public String kind() {
            return "list";
        }

        @Override
        public void write(List<ChainedEntry> batch) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long highestSeq(String instance) {
            return 0;
        }

        @Override
        public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) {
            for (int i = 0; i < lines.size() && visitor.test(new StoredEntry("line:" + (i + 1), lines.get(i))); i++) {
                // visit
            }
        }
    }

    static String admitted(String id, String admission, String subject) {
        return "{\"admission\":\"" + admission + "\",\"at\":\"2026-12-01T10:00:00Z\",\"id\":\"" + id + "\",\"kind\":\"admitted\","
                + "\"model\":\"m\",\"principal\":{\"subject\":\"" + subject + "\"},\"request\":{\"method\":\"POST\"},\"route_id\":\"r\",\"v\":1}";
    }

    static String call(String id, String admission) {
        return "{\"admission\":" + (admission == null ? "null" : "\"" + admission + "\"") + ",\"decisions\":[],\"id\":\"" + id
                + "\",\"kind\":\"call\",\"model\":\"m\",\"principal\":null,\"request_outcome\":\"pass\",\"route_id\":\"r\","
                + "\"start\":\"2026-12-01T10:00:00Z\",\"v\":1}";
    }

    final Stored store = new Stored(List.of(
            admitted("a", "0001", "alice"),
            admitted("b", "0002", "bob"),
            call("a", "0001"),
            call("c", null),
            admitted("d", "0004", "alice"),
            "{\"covers_seq\":5,\"kind\":\"checkpoint\"}"));

    @Test
    void admittedSelectsTheAdmittedEntriesOfCallsWithoutAFinalRecord() throws Exception {
        List<JsonNode> found = new AuditQuery(store).search(AuditFilter.fromQuery(Map.of("decision", "admitted"), 100));
        assertThat(found).extracting(n -> n.path("id").asText()).containsExactly("b", "d");
        assertThat(found).allMatch(n -> n.path("kind").asText().equals("admitted"));
    }

    @Test
    void theOtherCriteriaStillApply() throws Exception {
        AuditQuery q = new AuditQuery(store);
        assertThat(q.search(AuditFilter.fromQuery(Map.of("decision", "ADMITTED", "principal", "alice"), 100)))
                .extracting(n -> n.path("id").asText()).containsExactly("d");
        assertThat(q.search(AuditFilter.fromQuery(Map.of("decision", "admitted", "limit", "1"), 100)))
                .extracting(n -> n.path("id").asText()).containsExactly("b");
        assertThat(q.search(AuditFilter.fromQuery(Map.of("decision", "admitted", "to", "2026-12-01T09:00:00Z"), 100))).isEmpty();
    }

    @Test
    void otherSearchesListCallRecordsOnly() throws Exception {
        AuditQuery q = new AuditQuery(store);
        assertThat(q.search(AuditFilter.fromQuery(Map.of(), 100))).extracting(n -> n.path("id").asText()).containsExactly("a", "c");
        assertThat(q.search(AuditFilter.fromQuery(Map.of("decision", "pass"), 100))).hasSize(2);
    }

    @Test
    void exportWritesTheUnfinishedAdmittedEntriesAsStored() throws Exception {
        StringWriter out = new StringWriter();
        long n = new AuditQuery(store).exportJsonl(AuditFilter.fromQuery(Map.of("decision", "admitted"), Integer.MAX_VALUE), out);
        assertThat(n).isEqualTo(2);
        assertThat(out.toString()).isEqualTo(store.lines().get(1) + "\n" + store.lines().get(4) + "\n");
    }
}
