package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every byte of an event-shaped response is scanned: the lines that are not {@code data:} lines
 * (comments, {@code event}, {@code id}, {@code retry}, unknown fields, and plain text after a
 * leading "data: ok") are masked as text, and a JSON body labelled as an event stream is masked as
 * JSON. Before, those lines were copied unscanned.
 */
class MaskSseOtherLinesTest {
    static final Plugin PLUGIN = plugin("{}");
    static final List<String> SECRETS = List.of("john.doe@example.com", "4111 1111 1111 1111", "123-45-6789",
            "AKIAIOSFODNN7EXAMPLE");

    static String mask(String contentType, String body) {
        HttpResponse out = run(PLUGIN, response(contentType, body.getBytes(StandardCharsets.UTF_8)), context());
        assertThat(out.status()).as(body).isEqualTo(200);
        return bodyOf(out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "", "text/plain; charset=utf-8", "text/event-stream"})
    void plainTextAfterALeadingDataLineIsMasked(String contentType) {
        String out = mask(contentType, "data: ok\nMy mail is john.doe@example.com and card 4111 1111 1111 1111");
        assertThat(out).isEqualTo("data: ok\nMy mail is [EMAIL] and card [CARD]");
    }

    /** Consecutive non-data lines are one text: detectors that need more than a line (a PEM block, a table's header) see it whole. */
    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "text/event-stream"})
    void aSecretOverSeveralNonDataLinesIsMaskedWhole(String contentType) {
        String pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
                + "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----";
        String out = mask(contentType, "data: ok\n" + pem + "\n");
        assertThat(out).startsWith("data: ok\n").doesNotContain("MIIEow", "VTLw7o", "END RSA");
        String table = mask(contentType, "data: ok\nname,ssn\nJohn Doe,123456789\n");
        assertThat(table).startsWith("data: ok\n").doesNotContain("123456789");
    }

    @Test
    void aJsonBodyBehindAByteOrderMarkLabelledAsAnEventStreamIsStillJson() {
        String in = "\uFEFF{\"choices\":[{\"message\":{\"content\":\"john.doe@example.com\"},\"logprobs\":{\"content\":"
                + "[{\"token\":\"john\"},{\"token\":\".doe@\"},{\"token\":\"example.com\"}]}}]}";
        HttpResponse out = run(PLUGIN, response("text/event-stream", in.getBytes(StandardCharsets.UTF_8)), context());
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_logprobs_unmaskable").doesNotContain("john", "example.com");
    }

    @Test
    void aCommentLeadingPlainTextIsNoHidingPlace() {
        assertThat(mask("", ":\nContact: john.doe@example.com\n")).isEqualTo(":\nContact: [EMAIL]\n");
    }

    @Test
    void everyFieldThatIsNotDataIsMaskedAndDataStaysAsTheWalkLeftIt() {
        String in = ": note john.doe@example.com\nevent: 123-45-6789\nid: 4111 1111 1111 1111\nretry: 123-45-6789\n"
                + "data : key AKIAIOSFODNN7EXAMPLE\nData: john.doe@example.com\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi jane@example.com\"}}]}\n\ndata: [DONE]\n\n";
        assertThat(mask("text/event-stream", in)).isEqualTo(": note [EMAIL]\nevent: [SSN]\nid: [CARD]\nretry: [SSN]\n"
                + "data : key [AWS_ACCESS_KEY]\nData: [EMAIL]\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi [EMAIL]\"}}]}\n\ndata: [DONE]\n\n");
    }

    @Test
    void aRepeatedMaskedLineIsMaskedAndCountedEachTime() {
        String in = ": john.doe@example.com\ndata: a\n\n: john.doe@example.com\ndata: b\n\n";
        HttpResponse out = run(plugin("{\"count_header\":true}"), response("text/event-stream", in.getBytes(StandardCharsets.UTF_8)),
                context());
        assertThat(bodyOf(out)).isEqualTo(": [EMAIL]\ndata: a\n\n: [EMAIL]\ndata: b\n\n");
        assertThat(out.headers().first("x-pam-masked")).hasValueSatisfying(v -> assertThat(v).contains("email=2"));
    }

    @Test
    void aJsonBodyLabelledAsAnEventStreamIsMaskedAsJson() {
        String in = "{\"choices\":[{\"message\":{\"content\":\"mail john.doe\\u0040example.com\"}}],\"api_key\":\"s3cr3tpw\"}";
        String out = mask("text/event-stream", in);
        assertThat(out).doesNotContain("john.doe", "s3cr3tpw").contains("[EMAIL]");
    }

    @Test
    void anAnthropicStreamWithEventLinesAndPingsPassesByteForByte() {
        String in = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"role\":\"assistant\"}}\n\n"
                + ": ping\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n"
                + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assertThat(mask("text/event-stream", in)).isEqualTo(in);
    }

    /** Whatever non-data field a secret hides in, in whichever event, it does not leave the gateway. */
    @Property(tries = 300)
    void noSecretSurvivesInANonDataLine(@ForAll("streams") String stream, @ForAll("types") String contentType) {
        // masked (200) or withheld (a data payload that starts like JSON but is not): never passed
        HttpResponse out = run(PLUGIN, response(contentType, stream.getBytes(StandardCharsets.UTF_8)), context());
        assertThat(bodyOf(out)).doesNotContain(SECRETS.toArray(String[]::new));
    }

    @Provide
    Arbitrary<String> types() {
        return Arbitraries.of("text/event-stream", "text/plain", "");
    }

    @Provide
    Arbitrary<String> streams() {
        Arbitrary<String> field = Arbitraries.of(":", ": ", "event: ", "id: ", "retry: ", "data : ", "x-note: ", "Data: ", "");
        Arbitrary<String> secretLine = Combinators.combine(field, Arbitraries.of(SECRETS), Arbitraries.of("", " tail"))
                .as((f, s, t) -> (f.isEmpty() ? "text " : f) + s + t);
        Arbitrary<String> dataLine = Arbitraries.of("data: ok", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}",
                "data: [DONE]");
        Arbitrary<String> event = Combinators.combine(secretLine.list().ofMaxSize(2), dataLine.list().ofMinSize(1).ofMaxSize(2),
                        Arbitraries.integers().between(0, 2))
                .as((secrets, data, at) -> {
                    StringBuilder sb = new StringBuilder();
                    for (int k = 0; k < data.size(); k++) {
                        if (k == Math.min(at, data.size()) - 1 || (at == 0 && k == 0)) {
                            secrets.forEach(s -> sb.append(s).append('\n'));
                        }
                        sb.append(data.get(k)).append('\n');
                    }
                    return sb.append('\n').toString();
                });
        return Combinators.combine(dataLine, event.list().ofMinSize(1).ofMaxSize(4))
                .as((first, events) -> first + "\n" + String.join("", events));
    }
}
