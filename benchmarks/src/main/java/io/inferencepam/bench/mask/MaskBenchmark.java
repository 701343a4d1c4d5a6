package io.inferencepam.bench.mask;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.mask.MaskPluginFactory;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Vars;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * pam-mask throughput (performance.md G9). Every benchmark processes the same bytes as its
 * baseline, {@link #byteScan}, in the same run; report the ratio of the scores (ops/s are per body,
 * so equal-size bodies compare directly).
 *
 * <ul>
 *   <li>{@code corpus}: ~64 KiB of OpenAI chat.completion responses (JSON), with 0 or 10 PII
 *       values per KiB of content; goal: mask ≥ 0.02 × byteScan.</li>
 *   <li>{@code input}: 1 MiB text/plain, benign prose vs adversarial inputs (long digit runs,
 *       "@@@@", nested brackets, prefix storms); goal: adversarial ≤ 10 × benign time.</li>
 * </ul>
 * Run: java -jar benchmarks/target/benchmarks.jar MaskBenchmark -f 1 -wi 2 -i 3 -w 1s -r 1s
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MaskBenchmark {
    @Param({"json-0pii", "json-10pii", "sse-10pii", "text-benign", "text-digits", "text-groups", "text-at", "text-brackets", "text-prefixes",
        "text-phones", "text-encoded", "text-keys"})
    public String input;

    private byte[] body;
    private Plugin plugin;
    private HttpResponse response;
    private CallContext context;

    @Setup
    public void setup() throws Exception {
        plugin = new MaskPluginFactory(env()).create(new ObjectMapper().readTree("{}"));
        String contentType = "text/plain; charset=utf-8";
        Random r = new Random(42);
        switch (input) {
            case "json-0pii" -> {
                body = chatCorpus(r, 0);
                contentType = "application/json";
            }
            case "json-10pii" -> {
                body = chatCorpus(r, 10);
                contentType = "application/json";
            }
            case "sse-10pii" -> {
                body = sseCorpus(r, 10);
                contentType = "text/event-stream";
            }
            case "text-benign" -> body = repeat(prose(r, 4096), 1 << 20);
            case "text-digits" -> body = repeat("4111111111111111111111111111", 1 << 20);
            case "text-groups" -> body = repeat("4111 1111 1111 1111 4111-", 1 << 20);
            case "text-at" -> body = repeat("@@@@a@b.c@@@@x.y@", 1 << 20);
            case "text-brackets" -> body = repeat("[[[[{{{{(((([[", 1 << 20);
            case "text-prefixes" -> body = repeat("sk-sk-eyJ.eyJ.ghp_AKIA-----BEGIN ::1:2:3:Bearer Bearer xoxb-", 1 << 20);
            // issue 13: phone-shaped digit groups (each a libphonenumber call), encoded spellings
            // (the decoded view), key/value and table-column context
            case "text-phones" -> body = repeat("0612 345 678 (030) 12 +33 6 12 34 5 06.12.34.56.7 ", 1 << 20);
            case "text-encoded" -> body = repeat("a%40b&#64;c\\u0040d%2B&commat;e.f%4", 1 << 20);
            case "text-keys" -> body = repeat("password=a1:ssn,123456789\nsecret: \"x\" ", 1 << 20);
            default -> throw new IllegalArgumentException(input);
        }
        response = new HttpResponse(1, 200, Headers.of("Content-Type", contentType), Vars.empty(), Optional.of(Body.wrap(body)));
        context = new CallContext(new Attributes(), Optional.empty(), ConfIdentity.fromKey("route#b#ext-plugin-post-resp#1", "x", 1),
                Instant.now().plusSeconds(3600));
        ResponseChange check = mask();
        if (input.startsWith("text-") && check.status().isPresent()) {
            throw new IllegalStateException("benchmark input failed closed: " + input);
        }
    }

    /** Baseline: one pass over the same bytes (what a memchr-like scan costs). */
    @Benchmark
    public long byteScan() {
        return scan(body);
    }

    static long scan(byte[] b) {
        long acc = 0;
        for (int i = 0; i < b.length; i++) {
            acc += b[i] == '@' ? 1 : 0;
        }
        return acc;
    }

    @Benchmark
    public ResponseChange mask() {
        return plugin.onResponse(response, context).toCompletableFuture().join();
    }

    static final String[] WORDS = ("the a model answer summary shows that revenue grew in the third quarter while costs fell "
            + "customers asked about delivery times and the team will follow up next week with details on pricing plans")
            .split(" ");

    static String prose(Random r, int chars) {
        StringBuilder sb = new StringBuilder(chars);
        while (sb.length() < chars) {
            sb.append(WORDS[r.nextInt(WORDS.length)]).append(r.nextInt(12) == 0 ? ". " : " ");
        }
        return sb.toString();
    }

    static String pii(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> "jane" + r.nextInt(1000) + "@example.com";
            case 1 -> "4111 1111 1111 1111";
            case 2 -> "+1 415 555 0" + (100 + r.nextInt(900));
            case 3 -> "AKIAIOSFODNN7EXAMPLE";
            default -> "10.0." + r.nextInt(256) + "." + r.nextInt(256);
        };
    }

    /** Content of ~1 KiB chunks, each with {@code perKiB} values at random word positions. */
    static String content(Random r, int perKiB) {
        StringBuilder sb = new StringBuilder();
        String base = prose(r, 1024);
        String[] words = base.split(" ");
        java.util.Set<Integer> at = new java.util.HashSet<>();
        while (at.size() < perKiB) {
            at.add(r.nextInt(words.length));
        }
        for (int i = 0; i < words.length; i++) {
            sb.append(at.contains(i) ? pii(r) : words[i]).append(' ');
        }
        return sb.toString();
    }

    static byte[] chatCorpus(Random r, int perKiB) throws Exception {
        ObjectMapper m = new ObjectMapper();
        StringBuilder all = new StringBuilder("[");
        while (all.length() < 64 * 1024) {
            ObjectNode doc = m.createObjectNode().put("id", "chatcmpl-" + r.nextInt(1 << 30)).put("object", "chat.completion")
                    .put("created", 1715524382).put("model", "gpt-4o-2024-08-06");
            doc.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop").putObject("message")
                    .put("role", "assistant").put("content", content(r, perKiB) + content(r, perKiB));
            doc.putObject("usage").put("prompt_tokens", 120).put("completion_tokens", 512).put("total_tokens", 632);
            all.append(all.length() > 1 ? "," : "").append(m.writeValueAsString(doc));
        }
        return all.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] sseCorpus(Random r, int perKiB) throws Exception {
        ObjectMapper m = new ObjectMapper();
        StringBuilder sse = new StringBuilder();
        while (sse.length() < 64 * 1024) {
            String text = content(r, perKiB);
            for (int i = 0, len; i < text.length(); i += len) {
                len = 4 + r.nextInt(8);
                String piece = text.substring(i, Math.min(text.length(), i + len));
                sse.append("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                        .append(m.writeValueAsString(piece)).append("},\"finish_reason\":null}]}\n\n");
            }
        }
        return sse.append("data: [DONE]\n\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] repeat(String unit, int size) {
        StringBuilder sb = new StringBuilder(size + unit.length());
        while (sb.length() < size) {
            sb.append(unit);
        }
        sb.setLength(size);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static PluginEnvironment env() {
        return new PluginEnvironment() {
            public Executor blockingExecutor() {
                return Runnable::run;
            }

            public ScheduledExecutorService scheduler() {
                throw new UnsupportedOperationException();
            }

            public ControlApi control() {
                return (m, p, h) -> { };
            }

            public Metrics metrics() {
                throw new UnsupportedOperationException();
            }

            public Clock clock() {
                return Clock.systemUTC();
            }

            public Optional<String> setting(String name) {
                return Optional.empty();
            }

            public void onShutdown(AutoCloseable resource) {
            }
        };
    }
}
