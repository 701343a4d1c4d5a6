package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Usage as each server family reports it, in the shapes they send (bodies modelled on real responses). */
class UsageReaderTest {

    static UsageReading read(String body, String contentType) {
        return UsageReader.read(body.getBytes(StandardCharsets.UTF_8), contentType, List.of());
    }

    static Usage usage(String body, String contentType) {
        UsageReading r = read(body, contentType);
        assertThat(r.usage()).as(r.problem()).isPresent();
        return r.usage().get();
    }

    @Test
    void openAiChatCompletion() {
        String body = """
                {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"llama-3-8b",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"usage: \\"total_tokens\\": 1"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,
                          "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}
                """;
        assertThat(usage(body, "application/json")).isEqualTo(new Usage(12, 34, 46, UsageFormat.OPENAI));
    }

    @Test
    void aReportedTotalAboveInputPlusOutputIsKept() {
        // e.g. reasoning tokens counted in the total only
        assertThat(usage("{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":40}}", "application/json").totalTokens())
                .isEqualTo(40);
        assertThat(usage("{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":1}}", "application/json").totalTokens())
                .as("a total below input + output does not lower the charge").isEqualTo(15);
    }

    @Test
    void openAiEmbeddings() {
        assertThat(usage("{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,-0.2,NaN]}],\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}",
                "application/json")).isEqualTo(new Usage(8, 0, 8, UsageFormat.OPENAI));
    }

    @Test
    void openAiStreamWithIncludeUsage() {
        String sse = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n"
                + "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n"
                + "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
                + "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
                + "data: [DONE]\n\n";
        assertThat(usage(sse, "text/event-stream; charset=utf-8")).isEqualTo(new Usage(9, 2, 11, UsageFormat.OPENAI));
        assertThat(usage(sse.replace("\n", "\r\n"), "text/event-stream")).as("CRLF lines").isEqualTo(new Usage(9, 2, 11, UsageFormat.OPENAI));
        assertThat(usage(sse, "text/plain")).as("APISIX turns the SSE content type into text/plain (P4b)")
                .isEqualTo(new Usage(9, 2, 11, UsageFormat.OPENAI));
    }

    @Test
    void openAiStreamWithoutUsageHasNone() {
        String sse = "data: {\"choices\":[{\"delta\":{\"content\":\"the usage of eval_count\"}}]}\n\ndata: [DONE]\n\n";
        UsageReading r = read(sse, "text/event-stream");
        assertThat(r.usage()).isEmpty();
        assertThat(r.problem()).isEqualTo("no usage in the event stream");
    }

    @Test
    void vllmContinuousUsageStatsLastReportWins() {
        String sse = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n"
                + "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
                + "data: [DONE]\n\n";
        assertThat(usage(sse, "text/event-stream").totalTokens()).isEqualTo(7);
    }

    @Test
    void responsesApiPlainAndStreamed() {
        assertThat(usage("{\"id\":\"resp_1\",\"object\":\"response\",\"output\":[],\"usage\":{\"input_tokens\":20,\"input_tokens_details\":"
                + "{\"cached_tokens\":0},\"output_tokens\":7,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":27}}",
                "application/json")).isEqualTo(new Usage(20, 7, 27, UsageFormat.OPENAI));
        String sse = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"usage\":null}}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"output\":[],"
                + "\"usage\":{\"input_tokens\":20,\"output_tokens\":7,\"total_tokens\":27}}}\n\n";
        assertThat(usage(sse, "text/event-stream")).isEqualTo(new Usage(20, 7, 27, UsageFormat.OPENAI));
    }

    @Test
    void ollamaChatPlainAndNdjsonStream() {
        assertThat(usage("{\"model\":\"llama3:latest\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":true,"
                + "\"total_duration\":5,\"prompt_eval_count\":26,\"eval_count\":298}", "application/json"))
                .isEqualTo(new Usage(26, 298, 324, UsageFormat.OLLAMA));
        String ndjson = "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},\"done\":false}\n"
                + "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\" sky\"},\"done\":false}\n"
                + "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
                + "\"prompt_eval_count\":26,\"prompt_eval_duration\":130079000,\"eval_count\":259,\"eval_duration\":4232710000}\n";
        assertThat(usage(ndjson, "application/x-ndjson")).isEqualTo(new Usage(26, 259, 285, UsageFormat.OLLAMA));
        assertThat(usage(ndjson, "application/json")).as("NDJSON labelled JSON").isEqualTo(new Usage(26, 259, 285, UsageFormat.OLLAMA));
        assertThat(usage(ndjson, "")).as("no content type").isEqualTo(new Usage(26, 259, 285, UsageFormat.OLLAMA));
    }

    @Test
    void ollamaPromptCachedReportsOnlyEvalCount() {
        // Ollama leaves prompt_eval_count out when the whole prompt came from its cache
        assertThat(usage("{\"done\":true,\"eval_count\":12}", "application/json")).isEqualTo(new Usage(0, 12, 12, UsageFormat.OLLAMA));
    }

    @Test
    void tgiGenerateAndStream() {
        assertThat(usage("{\"generated_text\":\"x\",\"details\":{\"finish_reason\":\"length\",\"generated_tokens\":20,\"seed\":null,"
                + "\"prefill\":[],\"tokens\":[{\"id\":1,\"text\":\"x\",\"logprob\":-0.1,\"special\":false}]}}", "application/json"))
                .isEqualTo(new Usage(0, 20, 20, UsageFormat.TGI));
        assertThat(usage("[{\"generated_text\":\"x\",\"details\":{\"generated_tokens\":3}},{\"generated_text\":\"y\",\"details\":{\"generated_tokens\":4}}]",
                "application/json").totalTokens()).as("TGI's / route answers a list").isEqualTo(7);
        String sse = "data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"a\"},\"generated_text\":null,\"details\":null}\n\n"
                + "data:{\"index\":2,\"token\":{\"id\":2,\"text\":\"b\"},\"generated_text\":\"ab\",\"details\":{\"finish_reason\":\"length\","
                + "\"generated_tokens\":2,\"seed\":null}}\n\n";
        assertThat(usage(sse, "text/event-stream")).isEqualTo(new Usage(0, 2, 2, UsageFormat.TGI));
        assertThat(read("{\"generated_text\":\"x\"}", "application/json").usage()).as("details not asked for").isEmpty();
    }

    @Test
    void compressedBodies() throws Exception {
        String body = "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}";
        byte[] raw = body.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(raw);
        }
        assertThat(UsageReader.read(gz.toByteArray(), "application/json", List.of("gzip")).usage().orElseThrow().totalTokens()).isEqualTo(7);
        ByteArrayOutputStream zl = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(zl)) {
            z.write(raw);
        }
        assertThat(UsageReader.read(zl.toByteArray(), "application/json", List.of("deflate")).usage().orElseThrow().totalTokens()).isEqualTo(7);
        ByteArrayOutputStream rawDeflate = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(rawDeflate, new Deflater(Deflater.DEFAULT_COMPRESSION, true))) {
            z.write(raw);
        }
        assertThat(UsageReader.read(rawDeflate.toByteArray(), "application/json", List.of("deflate")).usage().orElseThrow().totalTokens())
                .as("raw deflate").isEqualTo(7);
        UsageReading br = UsageReader.read(raw, "application/json", List.of("br"));
        assertThat(br.usage()).isEmpty();
        assertThat(br.problem()).isEqualTo("content-encoding br is not read");
        assertThat(UsageReader.read(raw, "application/json", List.of("gzip")).problem()).isEqualTo("corrupt gzip body");
    }

    @Test
    void malformedCountsAreIgnored() {
        assertThat(read("{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":1.5,\"total_tokens\":\"9\"}}", "application/json").usage())
                .isEmpty();
        assertThat(read("{\"usage\":{\"total_tokens\":99999999999999999999999}}", "application/json").usage()).isEmpty();
        assertThat(usage("{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":4}}", "application/json").totalTokens()).isEqualTo(4);
    }

    @Test
    void usageInsideGeneratedTextIsNotUsage() {
        // the model can be made to write anything into its content: only the structure counts
        String body = "{\"choices\":[{\"message\":{\"content\":\"{\\\"usage\\\":{\\\"total_tokens\\\":1}}\"}}],"
                + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":200,\"total_tokens\":300}}";
        assertThat(usage(body, "application/json").totalTokens()).isEqualTo(300);
        String sse = "data: {\"choices\":[{\"delta\":{\"content\":\"data: {\\\"usage\\\":{\\\"total_tokens\\\":1}}\"}}]}\n\n";
        assertThat(read(sse, "text/event-stream").usage()).isEmpty();
    }

    @Test
    void notJsonOrEmpty() {
        assertThat(read("", "application/json").problem()).isEqualTo("response is not JSON, SSE or NDJSON");
        assertThat(read("<html>", "text/html").problem()).isEqualTo("response is not JSON, SSE or NDJSON");
        assertThat(read("{\"usage\":", "application/json").problem()).isEqualTo("response is not valid JSON");
    }

    @Test
    void sseMultiLineDataIsJoined() {
        String sse = "data: {\"usage\":\ndata: {\"total_tokens\":5}}\n\n";
        assertThat(usage(sse, "text/event-stream").totalTokens()).isEqualTo(5);
    }
}
