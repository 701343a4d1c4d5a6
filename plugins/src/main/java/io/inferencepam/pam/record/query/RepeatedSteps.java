package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.Set;

/**
 * Steps stored more than once. An event that carries an {@code event_id} (pam-approval's: approval
 * id and step) may be in the trail twice when a runner stopped between writing it and recording
 * that it had, and the sweep wrote it again: the chain keeps both entries (each is linked and
 * verifies), readers show the first and skip the repeats. Entries without an {@code event_id}
 * (call records, checkpoints) are never repeats.
 */
final class RepeatedSteps {
    private final Set<String> seen = new HashSet<>();

    /** True unless an entry of the same kind and {@code event_id} came before. */
    boolean first(JsonNode entry) {
        String eventId = entry.path("event_id").asText(null);
        return eventId == null || seen.add(entry.path("kind").asText() + "\n" + eventId);
    }
}
