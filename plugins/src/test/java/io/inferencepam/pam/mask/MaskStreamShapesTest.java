package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Class 7: streaming shapes beyond OpenAI/Anthropic SSE — Ollama NDJSON, TGI generate_stream,
 * plain-text SSE — are reassembled, so a value split across chunks leaves no fragment in any
 * chunk; an NDJSON stream of a shape pam-mask does not know, in which a value is split, fails closed.
 */
class MaskStreamShapesTest {
    static final String EMAIL = "ana.weber@firma.de";
    static final String CARD = "4111 1111 1111 1111";

    static HttpResponse run(String ct, String body) {
        return MaskTestSupport.run(plugin("{}"), response(ct, body.getBytes(StandardCharsets.UTF_8)), context());
    }

    static List<String> cut(String text, long seed) {
        Random r = new Random(seed);
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < text.length(); ) {
            int n = Math.min(text.length() - i, 1 + r.nextInt(5));
            out.add(text.substring(i, i + n));
            i += n;
        }
        return out;
    }

    static String q(String s) {
        return com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s).length == 0 ? "" : new String(
                com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(s));
    }

    static void noFragment(String out, String value) {
        // no piece of 4+ characters of the value survives anywhere in the stream
        for (int i = 0; i + 4 <= value.length(); i++) {
            assertThat(out).as("fragment " + value.substring(i, i + 4)).doesNotContain(value.substring(i, i + 4));
        }
    }

    @Property(tries = 60)
    void ollamaChatNdjson(@ForAll long seed) {
        StringBuilder b = new StringBuilder();
        for (String p : cut("Mail " + EMAIL + " oder Karte " + CARD + ".", seed)) {
            b.append("{\"model\":\"llama3\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"")
                    .append(q(p)).append("\"},\"done\":false}\n");
        }
        b.append("{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"eval_count\":12}\n");
        HttpResponse out = run("application/x-ndjson", b.toString());
        assertThat(out.status()).isEqualTo(200);
        String s = bodyOf(out);
        noFragment(s.replace(" ", ""), EMAIL);
        noFragment(s.replace(" ", ""), CARD.replace(" ", ""));
        assertThat(s).contains("[EMAIL]", "[CARD]");
        assertThat(s.lines().count()).isEqualTo(b.toString().lines().count());
    }

    @Property(tries = 60)
    void ollamaGenerateNdjson(@ForAll long seed) {
        StringBuilder b = new StringBuilder();
        for (String p : cut("Mail " + EMAIL + " bitte.", seed)) {
            b.append("{\"model\":\"llama3\",\"response\":\"").append(q(p)).append("\",\"done\":false}\n");
        }
        String s = bodyOf(run("application/x-ndjson", b.toString()));
        noFragment(s, EMAIL);
        assertThat(s).contains("[EMAIL]");
    }

    @Property(tries = 60)
    void tgiGenerateStream(@ForAll long seed) {
        StringBuilder b = new StringBuilder();
        String text = "Mail " + EMAIL + " bitte.";
        for (String p : cut(text, seed)) {
            b.append("data:{\"token\":{\"id\":42,\"text\":\"").append(q(p))
                    .append("\",\"logprob\":-0.25,\"special\":false},\"generated_text\":null,\"details\":null}\n\n");
        }
        b.append("data:{\"token\":{\"id\":2,\"text\":\"\",\"logprob\":0,\"special\":true},\"generated_text\":\"").append(q(text))
                .append("\",\"details\":null}\n\n");
        HttpResponse out = run("text/event-stream", b.toString());
        assertThat(out.status()).isEqualTo(200);
        String s = bodyOf(out);
        noFragment(s, EMAIL);
        assertThat(s).contains("[EMAIL]");
    }

    @Property(tries = 60)
    void plainTextSse(@ForAll long seed) {
        StringBuilder b = new StringBuilder();
        for (String p : cut("Mail " + EMAIL + " oder " + CARD + " bitte.", seed)) {
            b.append("data: ").append(p).append("\n\n");
        }
        HttpResponse out = run("text/event-stream", b.toString());
        assertThat(out.status()).isEqualTo(200);
        String s = bodyOf(out);
        StringBuilder joined = new StringBuilder();
        for (String line : s.split("\n")) {
            if (line.startsWith("data: ")) {
                joined.append(line.substring(6));
            }
        }
        noFragment(s.replace("data: ", "").replace("\n", ""), EMAIL);
        assertThat(joined.toString()).isEqualTo("Mail [EMAIL] oder [CARD] bitte.");
    }

    @Test
    void anNdjsonStreamOfAnUnknownShapeWithASplitValueFailsClosed() {
        String body = "{\"chunk\":{\"piece\":\"Mail ana.we\"}}\n{\"chunk\":{\"piece\":\"ber@firma.de bitte\"}}\n";
        HttpResponse out = run("application/x-ndjson", body);
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_stream_shape_unknown").doesNotContain("ana.we");
    }

    /** A bare SSN is one only near its anchor word: the line before holds the anchor, so no line alone shows it. */
    @Test
    void anNdjsonStreamOfAnUnknownShapeWithAnSsnWhoseAnchorIsInTheLineBeforeFailsClosed() {
        String body = "{\"chunk\":{\"piece\":\"Her SSN: \"}}\n{\"chunk\":{\"piece\":\"123456789 ok\"}}\n";
        HttpResponse out = run("application/x-ndjson", body);
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_stream_shape_unknown").doesNotContain("123456789");
    }

    @Test
    void anNdjsonStreamOfAnUnknownShapeWithWholeValuesIsMaskedPerLine() {
        String body = "{\"chunk\":{\"piece\":\"Mail ana.weber@firma.de\"}}\n{\"chunk\":{\"piece\":\" bitte\"}}\n";
        HttpResponse out = run("application/x-ndjson", body);
        assertThat(out.status()).isEqualTo(200);
        assertThat(bodyOf(out)).contains("[EMAIL]");
    }
}
