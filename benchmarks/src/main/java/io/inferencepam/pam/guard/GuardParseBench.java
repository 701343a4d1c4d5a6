package io.inferencepam.pam.guard;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The one strict parse pam-guard does before its body checks ({@link StrictJsonBody}: strict UTF-8,
 * duplicate and case-folded key checks, a tree with exact numbers) on a 4 KiB chat-completions body,
 * next to a plain Jackson streaming pass and a plain tree parse over the same bytes (issue 11's yardstick for "parse + every
 * policy", which adds the checks' own cost to this).
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar GuardParseBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgs = {"-Xms512m", "-Xmx512m", "-XX:+UseSerialGC"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class GuardParseBench {
    private static final JsonFactory PLAIN = new JsonFactory();
    private static final com.fasterxml.jackson.databind.ObjectMapper TREE = new com.fasterxml.jackson.databind.ObjectMapper();
    static final byte[] CHAT_4K = chat4k();

    static byte[] chat4k() {
        StringBuilder sb = new StringBuilder("{\"model\":\"llama-3-8b\",\"temperature\":0.7,\"max_tokens\":512,\"stream\":true,"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant for the finance team.\"}");
        int i = 0;
        while (sb.length() < 4000) {
            sb.append(",{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":\"")
                    .append("Quarterly revenue grew by twelve percent compared with last year; explain the drivers. ")
                    .append(i++).append("\"}");
        }
        sb.append("]}");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    public int baselineJacksonStreaming() throws IOException {
        int tokens = 0;
        try (JsonParser p = PLAIN.createParser(CHAT_4K)) {
            while (p.nextToken() != null) {
                tokens++;
            }
        }
        return tokens;
    }

    /** A plain tree parse ({@code ObjectMapper.readTree}, no strictness): what building any tree costs. */
    @Benchmark
    public Object baselineJacksonTree() {
        try {
            return TREE.readTree(CHAT_4K);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Benchmark
    public StrictJsonBody.Result strictParse() {
        return StrictJsonBody.parse(CHAT_4K);
    }
}
