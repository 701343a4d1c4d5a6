package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.AuditEvent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The envelope of a non-call event, and the kinds and fields an event may not take over. */
class AuditEventRecordTest {

    @Test
    void envelopeThenFieldsNullsKept() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("approval_id", "apr_x");
        f.put("request_id", null);
        f.put("rules", List.of("a", "b"));
        f.put("principal", Map.of("subject", "s1"));
        ObjectNode r = new AuditEventRecord(new AuditEvent("approval", "held", 0L, f), "e1").build();
        assertThat(r.path("kind").asText()).isEqualTo("approval");
        assertThat(r.path("event").asText()).isEqualTo("held");
        assertThat(r.path("id").asText()).isEqualTo("e1");
        assertThat(r.path("at").asText()).isEqualTo("1970-01-01T00:00:00Z");
        assertThat(r.has("request_id")).isTrue();
        assertThat(r.get("request_id").isNull()).isTrue();
        assertThat(r.path("rules").toString()).isEqualTo("[\"a\",\"b\"]");
        assertThat(r.path("principal").path("subject").asText()).isEqualTo("s1");
    }

    @Test
    void anEventCannotPassForACallAnAdmissionOrACheckpointNorRewriteTheEnvelope() {
        for (String kind : List.of("call", "admitted", "checkpoint", " ")) {
            assertThatThrownBy(() -> new AuditEventRecord(new AuditEvent(kind, "x", 0L, Map.of()), "e"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        for (String field : List.of("kind", "v", "id", "event", "at", "instance", "seq", "prev", "hash", "sig")) {
            assertThatThrownBy(() -> new AuditEventRecord(new AuditEvent("approval", "x", 0L, Map.of(field, "forged")), "e"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
