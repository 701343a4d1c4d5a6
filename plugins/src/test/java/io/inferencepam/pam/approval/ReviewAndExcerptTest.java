package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.core.Principal;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReviewAndExcerptTest {

    @Test
    void aTicketIsRedeemedOnceAndCannotBeGuessed() {
        ReviewerTickets tickets = new ReviewerTickets(new SecureRandom());
        Principal rita = new Principal("https://idp", "sub-rita", "rita", List.of("reviewers"), "pam-cli");
        String t = tickets.mint(rita);
        assertThat(tickets.redeem("rt_" + "0".repeat(32))).isEmpty();
        assertThat(tickets.redeem(t)).contains(rita);
        assertThat(tickets.redeem(t)).as("single use").isEmpty();
        assertThat(tickets.redeem(null)).isEmpty();
        assertThat(tickets.mint(rita)).isNotEqualTo(t);
    }

    @Test
    void theExcerptShowsWhatTheModelWouldReadWithSecretsMasked() {
        PromptExcerpt e = new PromptExcerpt();
        String chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"card 4111 1111 1111 1111, mail a.b@example.org\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}}]}]}";
        String out = e.of(chat.getBytes(StandardCharsets.UTF_8));
        assertThat(out).isEqualTo("system: be brief\nuser: card [card], mail [email]");
        assertThat(e.of("{\"prompt\":\"hello\"}".getBytes(StandardCharsets.UTF_8))).isEqualTo("prompt: hello");
        assertThat(e.of("not json AKIAIOSFODNN7EXAMPLE".getBytes(StandardCharsets.UTF_8))).doesNotContain("AKIAIOSFODNN7EXAMPLE");
        String longText = "{\"prompt\":\"" + "x".repeat(5000) + " secret@example.com\"}";
        assertThat(e.of(longText.getBytes(StandardCharsets.UTF_8))).hasSize(PromptExcerpt.MAX_EXCERPT_CHARS + 1).endsWith("…");
        // a secret across the cut is masked before cutting
        String edge = "{\"prompt\":\"" + "y".repeat(PromptExcerpt.MAX_EXCERPT_CHARS - 12) + " someone@example.com\"}";
        assertThat(e.of(edge.getBytes(StandardCharsets.UTF_8))).doesNotContain("someone@").doesNotContain("@example.com");
    }
}
