package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * SSE framing and JSON corner cases of the in-place event rewriter: what is rewritten is exactly
 * the JSON string that held a masked value; anything the rewriter cannot attribute to one event
 * is masked as text, and anything ambiguous fails closed.
 */
class MaskSseEdgeCasesTest {
    static final ObjectMapper M = new ObjectMapper();
    static final Plugin PLUGIN = plugin("{}");

    static String mask(String sse) {
        return bodyOf(run(PLUGIN, response("text/event-stream", sse.getBytes(StandardCharsets.UTF_8)), context()));
    }

    static String chunk(String contentJson) {
        return "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + contentJson + "}}]}";
    }

    @Test
    void onlyTheMaskedStringChangesNumbersSpacingAndEscapesElsewhereStay() {
        String in = "data: {\"id\" : \"c\\u0031\", \"n\":1.50, \"x\":1e2, \"choices\":[{\"index\":0,\"delta\":{\"content\":"
                + "\"mail jane\\u0040example.com \\u00e9\"}}]}\n\ndata: [DONE]\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("\"mail jane\\u0040example.com \\u00e9\"", "\"mail [EMAIL] \u00e9\""));
    }

    @Test
    void crlfFramingDataWithoutSpaceAndOtherLinesAreKeptInPlace() {
        String in = ": comment\r\nid: 7\r\ndata:" + chunk("\"call +1 415 555 0132 \"") + "\r\nevent: delta\r\n\r\n"
                + "data: [DONE]\r\n\r\n";
        assertThat(mask(in)).isEqualTo(in.replace("+1 415 555 0132", "[PHONE]"));
    }

    @Test
    void multiLineDataIsOneJsonValueAndIsRewrittenWhereTheStringIs() {
        String in = "data: {\"choices\":[{\"index\":0,\r\nid: 3\ndata:  \"delta\":{\"content\":\"key AKIAIOSFODNN7EXAMPLE\"}}]}\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("AKIAIOSFODNN7EXAMPLE", "[AWS_ACCESS_KEY]"));
    }

    @Test
    void aValueSplitAcrossEventsWithEscapesInsideIsReassembled() {
        String in = "data: " + chunk("\"mail jane\\u0040exa\"") + "\n\n" + "data: " + chunk("\"mple.c\"") + "\n\n"
                + "data: " + chunk("\"om ok\"") + "\n\n";
        String out = mask(in);
        assertThat(out).isEqualTo("data: " + chunk("\"mail [EMAIL]\"") + "\n\n" + "data: " + chunk("\"\"") + "\n\n"
                + "data: " + chunk("\" ok\"") + "\n\n");
    }

    @Test
    void indexAfterDeltaAndChoicesInterleavedKeepTheirOwnStreams() {
        String in = "data: {\"choices\":[{\"delta\":{\"content\":\"a jane@exa\"},\"index\":1},{\"delta\":{\"content\":\"b 4111 1111\"},\"index\":0}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" 1111 1111 x\"}},{\"index\":1,\"delta\":{\"content\":\"mple.com y\"}}]}\n\n";
        String out = mask(in);
        assertThat(out).isEqualTo("data: {\"choices\":[{\"delta\":{\"content\":\"a [EMAIL]\"},\"index\":1},{\"delta\":{\"content\":\"b [CARD]\"},\"index\":0}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" x\"}},{\"index\":1,\"delta\":{\"content\":\" y\"}}]}\n\n");
    }

    /**
     * The tree-based reader ignored anything after the first JSON value, and copied it unscanned;
     * masking such data as text instead lets JSON escapes hide values (\u0040 for @) and drops its
     * streamed text from reassembly. Data that starts like JSON must be exactly one JSON value.
     */
    @Test
    void dataThatStartsLikeJsonButIsNotOneJsonValueFailsClosed() {
        assertFailsClosed("data: {\"a\":1} jane@example.com\n\n");
        assertFailsClosed("data: " + chunk("\"hi\"") + "\ndata: 4111 1111 1111 1111\n\n");
        assertFailsClosed("data: " + chunk("\"mail jane\\u0040example.com\"") + "\ndata: x\n\n");
        assertFailsClosed("data: " + chunk("\"mail jane@exa\"") + "\n\n" + "data: " + chunk("\"mple.com ok\"") + "\ndata: x\n\n");
        // a truncated event, and values past the JSON parser's limits
        assertFailsClosed("data: {\"choices\":[{\"delta\":{\"content\":\"card 4111 1111 1111 1111\n\n");
        assertFailsClosed("data: {\"n\":" + "1".repeat(1200) + ",\"c\":\"jane\\u0040example.com\"}\n\n");
        assertFailsClosed("data: " + "[".repeat(1200) + "\"jane\\u0040example.com\"" + "]".repeat(1200) + "\n\n");
    }

    /** Text data may not carry JSON unicode escapes that a client could decode past the detectors. */
    @Test
    void nonJsonDataWithUnicodeEscapesFailsClosed() {
        assertFailsClosed("data: \"jane\\u0040example.com\"\n\n");
        assertFailsClosed("data: \u2003{\"c\":\"jane\\u0040example.com\"}\n\n");
    }

    /** A bare CR is a line end to SSE clients; this reader does not split on it, so it fails closed. */
    @Test
    void bareCarriageReturnLineEndsFailClosed() {
        assertFailsClosed("data: " + chunk("\"mail jane\\u0040example.com\"") + "\r\rdata: " + chunk("\"x\"") + "\r\r");
        assertFailsClosed("data: " + chunk("\"mail jane@exa\"") + "\r\rdata: " + chunk("\"mple.com\"") + "\r\r");
    }

    /** Clients skip a leading byte-order mark: so does the reader, so the first event is scanned. */
    @Test
    void aLeadingByteOrderMarkDoesNotHideTheFirstEvent() {
        String in = "\uFEFFdata: " + chunk("\"mail jane@exa\"") + "\n\ndata: " + chunk("\"mple.com\"") + "\n\n";
        assertThat(mask(in)).isEqualTo("\uFEFFdata: " + chunk("\"mail [EMAIL]\"") + "\n\ndata: " + chunk("\"\"") + "\n\n");
    }

    /** Unicode space before the JSON is not JSON (a client's parser rejects it): masked as text, as before. */
    @Test
    void dataWithANonJsonSpaceBeforeTheValueIsText() {
        String in = "data: \u2003{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jane@example.com\"}}]}\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("jane@example.com", "[EMAIL]"));
    }

    @Test
    void repeatedMemberNamesWhereStreamedTextIsLocatedFailClosed() {
        assertFailsClosed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jane@exa\",\"content\":\"x\"}}]}\n\n"
                + "data: " + chunk("\"mple.com\"") + "\n\n");
        assertFailsClosed("data: {\"choices\":[],\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
        assertFailsClosed("data: {\"choices\":[{\"index\":0,\"index\":1,\"delta\":{\"content\":\"x\"}}]}\n\n");
        assertFailsClosed("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\",\"arguments\":\"}\"}}]}}]}\n\n");
    }

    /** Elsewhere every string is scanned, repeated or not (the tree kept only the last one). */
    @Test
    void repeatedMemberNamesElsewhereAreAllScanned() {
        String in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":{\"note\":\"jane@example.com\",\"note\":\"x\"}}\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("jane@example.com", "[EMAIL]"));
    }

    @Test
    void aNonIntegerIndexOnStreamedTextFailsClosed() {
        assertFailsClosed("data: {\"choices\":[{\"index\":\"0\",\"delta\":{\"content\":\"x\"}}]}\n\n");
        assertFailsClosed("data: {\"choices\":[{\"index\":0.0,\"text\":\"x\"}]}\n\n");
        assertFailsClosed("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":null,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n");
        assertFailsClosed("data: {\"type\":\"content_block_delta\",\"index\":\"1\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n");
    }

    @Test
    void responsesAndAnthropicStreamsWithTheirTypeAfterTheDelta() {
        String in = "data: {\"delta\":\"mail jane@exa\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"type\":\"response.output_text.delta\"}\n\n"
                + "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"mple.com\"}\n\n"
                + "event: content_block_delta\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"card 4111 1111\"},\"index\":0,\"type\":\"content_block_delta\"}\n\n"
                + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" 1111 1111.\"}}\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("jane@exa\"", "[EMAIL]\"").replace("\"mple.com\"", "\"\"")
                .replace("4111 1111\"", "[CARD]\"").replace("\" 1111 1111.\"", "\".\""));
    }

    @Test
    void aDeltaStringOutsideAResponsesEventIsMaskedWithinItsEvent() {
        String in = "data: {\"delta\":\"jane@example.com\",\"type\":\"other\"}\n\ndata: {\"delta\":{\"text\":\"4111 1111 1111 1111\"}}\n\n";
        assertThat(mask(in)).isEqualTo(in.replace("jane@example.com", "[EMAIL]").replace("4111 1111 1111 1111", "[CARD]"));
    }

    @Test
    void commentsNonContentEventsAndDoneAreCopiedAndALastEventWithoutBlankLineStaysUnterminated() {
        String in = ": ping\n\nevent: usage\ndata: {\"usage\":{\"total_tokens\":3}}\n\ndata: [DONE]\n\ndata: " + chunk("\"jane@example.com\"");
        assertThat(mask(in)).isEqualTo(in.replace("jane@example.com", "[EMAIL]"));
    }

    @Test
    void logprobsNextToAMaskedValueStillFailClosed() {
        String in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"jane@example.com\"},\"logprobs\":{\"content\":[]}}]}\n\n";
        CallContext ctx = context();
        HttpResponse out = run(PLUGIN, response("text/event-stream", in.getBytes(StandardCharsets.UTF_8)), ctx);
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_logprobs_unmaskable").doesNotContain("jane");
    }

    static void assertFailsClosed(String sse) {
        CallContext ctx = context();
        HttpResponse out = run(PLUGIN, response("text/event-stream", sse.getBytes(StandardCharsets.UTF_8)), ctx);
        assertThat(out.status()).as(sse).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_unscannable").doesNotContain("jane", "mple", "\"x\"", "4111");
        assertThat(CallFacts.of(ctx).decisions()).extracting(Decision::outcome).containsExactly(Decision.Outcome.ERROR);
    }
}
