package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskStreamShapesTest.cut;
import static io.inferencepam.pam.mask.MaskStreamShapesTest.q;
import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.runner.spi.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * SSE streams of shapes pam-mask does not know (Gemini's {@code candidates[].content.parts[].text},
 * a TGI-like token nested one level deeper, a root array of deltas, a root string delta without a
 * Responses type): a detector match that exists only in the streamed text joined across events
 * (a value cut in two, or an SSN whose "SSN" anchor is in the previous event) never leaves the
 * gateway readable; the stream is withheld as {@code response_stream_shape_unknown}. Values whole
 * in one event are masked in that event, and streams with nothing sensitive pass byte for byte.
 */
class MaskSseUnknownShapesTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String API_KEY = "sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5Ab3dEf5hIj7l7";
    /** value, and the text it is streamed in. */
    static final String[][] VALUES = {
        {"ana.weber@firma.de", "Mail ana.weber@firma.de bitte."},
        {"4111 1111 1111 1111", "Karte 4111 1111 1111 1111 bitte."},
        {API_KEY, "Key " + API_KEY + " bitte."},
        // a bare nine-digit SSN is one only near its anchor word: cut between them, no event alone holds it
        {"123456789", "Her SSN: 123456789 ok."},
    };

    /** One event of shape {@code shape} carrying {@code piece} of the streamed text. */
    static String event(int shape, String piece, int n) {
        return switch (shape) {
            // Gemini streamGenerateContent?alt=sse (CRLF, as Google sends it)
            case 0 -> "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"" + q(piece)
                    + "\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 7,\"totalTokenCount\": "
                    + (7 + n) + "},\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n";
            // a TGI-like token one level deeper than TGI's own token.text
            case 1 -> "data:{\"output\":{\"token\":{\"id\":" + (40 + n) + ",\"text\":\"" + q(piece) + "\",\"special\":false}}}\n\n";
            // a root array of deltas
            case 2 -> "data: [{\"delta\":{\"text\":\"" + q(piece) + "\"},\"n\":" + n + "}]\n\n";
            // a root string delta without a Responses "type"
            default -> "event: chunk\ndata: {\"kind\":\"chunk\",\"delta\":\"" + q(piece) + "\"}\n\n";
        };
    }

    static String stream(int shape, List<String> pieces) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < pieces.size(); i++) {
            b.append(event(shape, pieces.get(i), i));
        }
        return b.append("data: [DONE]\n\n").toString();
    }

    static HttpResponse run(String body) {
        return MaskTestSupport.run(plugin("{}"), response("text/event-stream", body.getBytes(StandardCharsets.UTF_8)), context());
    }

    /** Masked (200) or withheld (502 response_stream_shape_unknown); either way no piece of the value survives. */
    static void neverReadable(HttpResponse out, String value) {
        String s = bodyOf(out);
        assertThat(out.status()).as(s).isIn(200, 502);
        if (out.status() == 502) {
            assertThat(s).contains("response_stream_shape_unknown");
        }
        String compact = value.replace(" ", "");
        String flat = s.replace(" ", "");
        for (int i = 0; i + 4 <= compact.length(); i++) {
            assertThat(flat).as("fragment " + compact.substring(i, i + 4)).doesNotContain(compact.substring(i, i + 4));
        }
    }

    @Property(generation = GenerationMode.EXHAUSTIVE)
    void aValueCutInTwoAtAnyPointIsNeverReadable(@ForAll @IntRange(min = 0, max = 3) int shape,
            @ForAll @IntRange(min = 0, max = 3) int value, @ForAll @IntRange(min = 1, max = 64) int split) {
        String text = VALUES[value][1];
        Assume.that(split < text.length());
        HttpResponse out = run(stream(shape, List.of(text.substring(0, split), text.substring(split))));
        neverReadable(out, VALUES[value][0]);
    }

    @Property(tries = 200)
    void aValueCutIntoManyPiecesIsNeverReadable(@ForAll @IntRange(min = 0, max = 3) int shape,
            @ForAll @IntRange(min = 0, max = 3) int value, @ForAll long seed) {
        neverReadable(run(stream(shape, cut(VALUES[value][1], seed))), VALUES[value][0]);
    }

    @Test
    void aValueWholeInOneEventIsMaskedInThatEvent() throws Exception {
        HttpResponse out = run(stream(0, List.of("Mail ", "ana.weber@firma.de", " bitte.")));
        assertThat(out.status()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (String line : bodyOf(out).split("\r\n")) {
            if (line.startsWith("data: {")) {
                text.append(M.readTree(line.substring(6)).at("/candidates/0/content/parts/0/text").asText());
            }
        }
        assertThat(text.toString()).isEqualTo("Mail [EMAIL] bitte.");
    }

    @Test
    void aGeminiStreamWithAnEmailSplitOverTwoEventsIsWithheld() {
        HttpResponse out = run(stream(0, List.of("Schreiben Sie an ana.we", "ber@firma.de, danke.")));
        assertThat(out.status()).isEqualTo(502);
        JsonNode error = readError(bodyOf(out));
        assertThat(error.at("/error/code").asText()).isEqualTo("response_stream_shape_unknown");
        assertThat(error.at("/error/type").asText()).isEqualTo("gateway_error");
        assertThat(bodyOf(out)).doesNotContain("ana.we", "firma");
    }

    static JsonNode readError(String body) {
        try {
            return M.readTree(body);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    @Property(tries = 200)
    void unknownShapesWithNothingSensitivePassByteForByte(@ForAll @IntRange(min = 0, max = 3) int shape, @ForAll long seed) {
        Random r = new Random(seed);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 5 + r.nextInt(30); i++) {
            text.append(MaskProperties.WORDS[r.nextInt(MaskProperties.WORDS.length)]).append(r.nextInt(6) == 0 ? ". " : " ");
        }
        String body = stream(shape, cut(text.toString(), seed));
        HttpResponse out = run(body);
        assertThat(out.status()).isEqualTo(200);
        assertThat(bodyOf(out)).isEqualTo(body);
    }
}
