package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/**
 * Whatever the upstream sends, reading usage never throws and never yields a negative count; the
 * usage of a stream does not depend on how its events are framed or what the model wrote.
 */
class UsageProperties {

    @Property(tries = 500)
    void anyBytesAreReadWithoutThrowing(@ForAll @Size(max = 400) byte[] body, @ForAll("contentTypes") String type) {
        UsageReading r = UsageReader.read(body, type, List.of());
        r.usage().ifPresent(u -> assertThat(u.totalTokens()).isGreaterThanOrEqualTo(u.inputTokens() + u.outputTokens()));
        assertThat(r.usage().isPresent() || !r.problem().isEmpty()).isTrue();
    }

    @Property(tries = 300)
    void streamedUsageSurvivesAnyFramingAndContent(@ForAll @LongRange(min = 0, max = 1_000_000) long in,
                                                   @ForAll @LongRange(min = 0, max = 1_000_000) long out,
                                                   @ForAll long seed) {
        Random rnd = new Random(seed);
        StringBuilder sse = new StringBuilder();
        String nl = rnd.nextBoolean() ? "\n" : "\r\n";
        int chunks = rnd.nextInt(20);
        for (int i = 0; i < chunks; i++) {
            if (rnd.nextInt(4) == 0) {
                sse.append(": keep-alive").append(nl).append(nl);
            }
            sse.append(rnd.nextBoolean() ? "data: " : "data:").append("{\"choices\":[{\"delta\":{\"content\":")
                    .append(jsonString(randomText(rnd))).append("}}],\"usage\":null}").append(nl).append(nl);
        }
        sse.append("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":").append(in).append(",\"completion_tokens\":").append(out)
                .append(",\"total_tokens\":").append(in + out).append("}}").append(nl).append(nl);
        if (rnd.nextBoolean()) {
            sse.append("data: [DONE]").append(nl).append(nl);
        }
        UsageReading r = UsageReader.read(sse.toString().getBytes(StandardCharsets.UTF_8),
                rnd.nextBoolean() ? "text/event-stream" : "text/plain", List.of());
        assertThat(r.usage()).hasValue(new Usage(in, out, in + out, UsageFormat.OPENAI));
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> contentTypes() {
        return net.jqwik.api.Arbitraries.of("application/json", "text/event-stream", "application/x-ndjson", "text/plain", "");
    }

    /** Text a model might write, including the field names and SSE syntax the reader looks for. */
    private static String randomText(Random rnd) {
        String[] parts = {"usage", "\"usage\":{\"total_tokens\":1}", "data: ", "\n\n", "eval_count", "generated_tokens", "é", "{", "}", "\\"};
        StringBuilder s = new StringBuilder();
        for (int i = rnd.nextInt(6); i > 0; i--) {
            s.append(parts[rnd.nextInt(parts.length)]);
        }
        return s.toString();
    }

    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
