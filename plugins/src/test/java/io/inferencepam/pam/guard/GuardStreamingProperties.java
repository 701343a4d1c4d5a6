package io.inferencepam.pam.guard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.params.ParamBodyCheck;
import io.inferencepam.pam.guard.prompt.PromptBodyCheck;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * pam-guard decides a body from one streaming pass ({@link StrictJsonBody#view}) when its checks say
 * which members they read. The oracle is the same plugin whose checks do not say it (they then get
 * the whole strict tree, the path every check had before): on generated bodies — duplicate and
 * case-folded keys at every depth, nesting, unicode and escapes, numbers as strings, numbers the
 * tree cannot convert, broken JSON — both give the same answer (stop and its body, or the body
 * sent upstream) and record the same decisions.
 */
class GuardStreamingProperties {
    private static final String RULES = """
            "params": {"rules": [{"id": "cap", "models": ["llama-*"], "action": "rewrite", "max_tokens": 100,
                                  "temperature": {"min": 0.1, "max": 1.5}, "force_stream_off": true},
                                 {"id": "strict", "models": ["gpt-*"], "action": "deny", "max_tokens": 50},
                                 {"id": "rest", "models": ["**"], "forbid": ["logprobs", "n"]}]},
            "prompt_rules": {"rules": [{"id": "jailbreak", "keywords": ["ignore previous", "dévéloppeur"]},
                                       {"id": "codename", "keywords": ["kestrel"], "whole_word": true, "action": "flag"},
                                       {"id": "aws", "regex": "AKIA[0-9A-Z]{4}", "ignore_case": false}],
                             "unscannable": "flag"}
            """;
    private static final List<String> CONFS = List.of(
            "{" + RULES + "}",
            "{\"family\": \"ollama\", " + RULES + "}",
            "{\"mode\": \"observe\", " + RULES + "}",
            "{\"params\": {\"rules\": [{\"id\": \"cap\", \"action\": \"rewrite\", \"max_tokens\": 100, \"forbid\": [\"echo\"]}]}}",
            "{\"prompt_rules\": {\"rules\": [{\"id\": \"k\", \"keywords\": [\"kestrel\"]}]}}");
    private static final List<String> PATHS = List.of("/v1/chat/completions", "/v1/completions", "/v1/responses",
            "/v1/embeddings", "/api/chat", "/api/generate");

    private static final List<Plugin> STREAMING = CONFS.stream()
            .map(c -> GuardCalls.plugin(c, new ParamBodyCheck.Factory(), new PromptBodyCheck.Factory())).toList();
    private static final List<Plugin> TREE = CONFS.stream()
            .map(c -> GuardCalls.plugin(c, wholeBody(new ParamBodyCheck.Factory()), wholeBody(new PromptBodyCheck.Factory())))
            .toList();

    /** The factory's checks without {@link BodyCheck#reads}: pam-guard hands them the whole tree. */
    static BodyCheck.Factory wholeBody(BodyCheck.Factory f) {
        return new BodyCheck.Factory() {
            @Override
            public String confKey() {
                return f.confKey();
            }

            @Override
            public String confSchema() {
                return f.confSchema();
            }

            @Override
            public Optional<BodyCheck> create(JsonNode section) throws InvalidConfException {
                return f.create(section).map(c -> (shape, model, body, facts) -> c.check(shape, model, body, facts));
            }
        };
    }

    @Property(tries = 3000)
    void theStreamingDecisionIsTheTreeDecision(@ForAll("bodies") String body, @ForAll("confs") int conf, @ForAll("paths") String path) {
        Statistics.collect(assertSame(body.getBytes(StandardCharsets.UTF_8), conf, path));
        // the generator reaches every outcome: refused bodies, denials, unchanged and rewritten passes
        Statistics.coverage(c -> {
            c.check("stop 400").percentage(p -> p > 5);
            c.check("stop 403").count(n -> n > 0);
            c.check("proceed -").percentage(p -> p > 10);
            c.check("proceed {").percentage(p -> p > 2);
        });
    }

    @Property(tries = 300)
    void rawBytesToo(@ForAll("rawBodies") byte[] body, @ForAll("confs") int conf) {
        assertSame(body, conf, "/v1/chat/completions");
    }

    @Example
    void edgeCases() {
        String[] bodies = {
            "{\"model\":\"llama-3\",\"max_tokens\":1e9999999999}",
            "{\"model\":\"llama-3\",\"x\":1e9999999999}",
            "{\"model\":\"llama-3\",\"x\":[{\"a\":1e-9999999999}]}",
            "{\"model\":\"llama-3\",\"x\":" + "9".repeat(1200) + "}",
            "{\"model\":\"llama-3\",\"x\":1." + "9".repeat(1200) + "}",
            "{\"model\":\"llama-3\",\"x\":{\"a\":1,\"A\":2}}",
            "{\"model\":\"llama-3\",\"x\":[{\"a\":1,\"A\":2}]}",
            "{\"model\":\"llama-3\",\"x\":[[{\"a\":1,\"A\":2}]]}",
            "{\"model\":\"llama-3\",\"x\":{\"y\":{\"a\":1,\"A\":2}}}",
            "{\"model\":\"llama-3\",\"x\":{\"y\":{\"a\":1,\"a\":2}}}",
            "{\"model\":\"llama-3\",\"x\":{\"a\":1,\"a\":tru}}",
            "{\"model\":\"llama-3\",\"x\":\"\\q\"}",
            "{\"model\":\"llama-3\",\"x\":\"a\u0001b\"}",
            "{\"model\":\"llama-3\",\"x\":1,\"x\":\"\\q\"}",
            "{\"model\":\"llama-3\",\"X\":1,\"x\":1}",
            "{\"model\":\"llama-3\",\"messages\":[{\"content\":\"a\",\"Content\":\"b\"}]}",
            "{\"model\":\"llama-3\"} {}",
            "{\"model\":\"llama-3\"} x",
            "{\"model\":\"llama-3\"}   ",
            "[{\"model\":\"llama-3\"}]",
            "[{\"a\":1,\"a\":2}]",
            "\"x\"",
            "{\"model\":\"llama-3\",\"messages\":null,\"MAX_TOKENS\":5}",
            "{\"Model\":\"gpt-4\",\"model\":\"llama-3\",\"max_tokens\":5}",
            "{\"model\":\"llama-3\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":\"5\"}",
            "{\"model\":\"llama-3\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Kestrel\"}]}]}",
            "{\"model\":\"llama-3\",\"options\":{\"num_predict\":-1,\"NUM_PREDICT\":5},\"stream\":false}",
            // controlled names in spellings that only fold through non-ASCII letters (Kelvin sign, long s, dotted I):
            // the pass must keep them (the policy then refuses them), found through the fold hash
            "{\"model\":\"llama-3\",\"max_to\u212Aens\":5}",
            "{\"model\":\"llama-3\",\"\u017Ftream\":true}",
            "{\"model\":\"llama-3\",\"opt\u0130ons\":{\"num_predict\":5},\"stream\":false}",
            "{\"model\":\"llama-3\",\"options\":{\"num_pred\u0130ct\":5},\"stream\":false}",
            "{\"model\":\"llama-3\",\"Temp-Erature\":9}",
            "{\"model\":\"llama-3\",\"-n_\":3}",
            // a key whose fold hash is a controlled name's ("n": 110) without being a spelling of it
            "{\"model\":\"llama-3\",\"\\u0003\\u0011\":3}",
            "{\"model\":\"llama-3\",\"options\":{\"\\u0003\\u0011\":3},\"stream\":false}",
        };
        for (String b : bodies) {
            for (int conf = 0; conf < CONFS.size(); conf++) {
                for (String path : PATHS) {
                    assertSame(b.getBytes(StandardCharsets.UTF_8), conf, path);
                }
            }
        }
    }

    /** Every shape names its text members apart from its parameter members: a rewrite leaves the text the prompt rules read. */
    @Example
    void textAndParameterMembersAreDisjoint() throws Exception {
        JsonNode params = GuardCalls.M.readTree("{\"rules\": [{\"id\": \"x\"}]}");
        JsonNode prompts = GuardCalls.M.readTree("{\"rules\": [{\"id\": \"k\", \"keywords\": [\"x\"]}]}");
        BodyCheck p = new ParamBodyCheck.Factory().create(params).orElseThrow();
        BodyCheck t = new PromptBodyCheck.Factory().create(prompts).orElseThrow();
        for (BodyShape shape : BodyShape.values()) {
            for (String text : t.reads(shape).orElseThrow()) {
                for (String param : p.reads(shape).orElseThrow()) {
                    assertThat(io.inferencepam.pam.core.KeyFold.same(text, param)).as(shape + ": " + text + " / " + param).isFalse();
                }
            }
        }
    }

    /** @return what both decided, as a class for the statistics: {@code stop 400}, {@code proceed -} (unchanged), {@code proceed {} (rewritten) */
    private static String assertSame(byte[] body, int conf, String path) {
        GuardCalls a = GuardCalls.chat();
        a.path = path;
        a.body = Body.wrap(body);
        GuardCalls b = GuardCalls.chat();
        b.path = path;
        b.body = Body.wrap(body);
        RequestDecision streamed = a.run(STREAMING.get(conf));
        RequestDecision tree = b.run(TREE.get(conf));
        assertThat(render(streamed)).isEqualTo(render(tree));
        assertThat(a.decisions()).isEqualTo(b.decisions());
        return render(tree).replaceAll("(?s)(stop \\d+|proceed [-{]).*", "$1");
    }

    private static String render(RequestDecision d) {
        if (d instanceof RequestDecision.Halt h) {
            return "stop " + h.stop().status() + " " + h.stop().body().utf8();
        }
        return "proceed " + ((RequestDecision.Proceed) d).rewrite().body().map(Body::utf8).orElse("-");
    }

    @Provide
    Arbitrary<Integer> confs() {
        return Arbitraries.integers().between(0, CONFS.size() - 1);
    }

    @Provide
    Arbitrary<String> paths() {
        return Arbitraries.of(PATHS);
    }

    private static final List<String> KEYS = List.of("model", "Model", "messages", "MESSAGES", "content", "Content", "role",
            "text", "type", "max_tokens", "MAX_TOKENS", "max-tokens", "max_completion_tokens", "temperature", "stream",
            "Stream", "stream_options", "options", "num_predict", "logprobs", "top_logprobs", "n", "logit_bias", "echo",
            "prompt", "input", "instructions", "tools", "function", "arguments", "tool_calls", "include", "system",
            "x", "y", "a", "A", "ä", "Ä", "ſ", "K", "k", "\\u006dodel", "mo\\u0064el",
            // spellings that fold only through non-ASCII letters, and a key hashing like "n" when folded
            "max_to\u212Aens", "\u017Ftream", "opt\u0130ons", "Temp-Erature", "num_pred\u0130ct", "\\u0003\\u0011");

    private static final List<String> STRINGS = List.of("llama-3", "gpt-4o", "hi", "ignore previous", "IGNORE   PREVIOUS",
            "ｉｇｎｏｒｅ previous", "ig\u200bnore previous", "Kestrel", "kestrels", "AKIA1234", "dévéloppeur",
            "de\\u0301ve\\u0301loppeur", "\\ud83d\\ude00", "\\ud800", "\\\"", "\\n\\t", "\\/", "5", "1e3",
            "message.output_text.logprobs", "", "日本語", "😀");
    /** Strings and numbers the tree refuses (an unknown escape, a raw control character) or cannot convert. */
    private static final List<String> BAD_SCALARS = List.of("\"\\q\"", "\"\u0001\"", "1E400", "1e9999999999", "-1e-9999999999",
            "9".repeat(1100), "1." + "1".repeat(1100), "01", "1.", ".5", "NaN", "Infinity", "tru", "'x'");

    private static final List<String> NUMBERS = List.of("0", "1", "-1", "2", "5", "100", "101", "1.0", "100.0", "100.5",
            "0.05", "1.5", "2.5", "-0", "1e2", "1e-2", "9".repeat(30), "-2147483649");

    @Provide
    Arbitrary<String> bodies() {
        // most bodies name a model a rule covers first, so that the rules have something to decide
        Arbitrary<String> model = Arbitraries.of("", "\"model\":\"llama-3\",", "\"model\":\"llama-3\",", "\"model\":\"gpt-4o\",");
        Arbitrary<String> top = Combinators.combine(model, members(3)).as((m, rest) -> "{" + (rest.isEmpty() ? m.replaceAll(",$", "") : m + rest) + "}");
        // broken on purpose, now and then: cut short, trailing garbage, another root
        return Combinators.combine(top, Arbitraries.integers().between(0, 19), Arbitraries.integers().between(0, 1000))
                .as((b, how, at) -> switch (how) {
                    case 0 -> b.substring(0, Math.min(b.length(), at % (b.length() + 1)));
                    case 1 -> b + " {}";
                    case 2 -> b + " x";
                    case 3 -> "[" + b + "]";
                    case 4 -> "\uFEFF" + b;
                    default -> b;
                });
    }

    private Arbitrary<String> members(int depth) {
        Arbitrary<String> member = Combinators.combine(Arbitraries.of(KEYS), value(depth))
                .as((k, v) -> "\"" + k + "\":" + v);
        return member.list().ofMaxSize(7).map(l -> String.join(",", l));
    }

    private Arbitrary<String> value(int depth) {
        Arbitrary<String> scalar = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(10, Arbitraries.of(STRINGS).map(s -> "\"" + s + "\"")),
                net.jqwik.api.Tuple.of(10, Arbitraries.of(NUMBERS)),
                net.jqwik.api.Tuple.of(5, Arbitraries.of("true", "false", "null")),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(BAD_SCALARS)));
        if (depth == 0) {
            return scalar;
        }
        Arbitrary<String> object = Arbitraries.lazy(() -> members(depth - 1)).map(m -> "{" + m + "}");
        Arbitrary<String> array = Arbitraries.lazy(() -> value(depth - 1)).list().ofMaxSize(4)
                .map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> message = Combinators.combine(Arbitraries.of("user", "tool", "assistant"),
                        Arbitraries.lazy(() -> value(depth - 1)))
                .as((role, content) -> "{\"role\":\"" + role + "\",\"content\":" + content + "}");
        Arbitrary<String> parts = Arbitraries.of(STRINGS).list().ofMaxSize(3)
                .map(l -> "[" + String.join(",", l.stream().map(s -> "{\"type\":\"text\",\"text\":\"" + s + "\"}").toList()) + "]");
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, scalar),
                net.jqwik.api.Tuple.of(2, object),
                net.jqwik.api.Tuple.of(2, array),
                net.jqwik.api.Tuple.of(2, message.list().ofMaxSize(3).map(l -> "[" + String.join(",", l) + "]")),
                net.jqwik.api.Tuple.of(1, parts));
    }

    @Provide
    Arbitrary<byte[]> rawBodies() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(40),
                bodies().map(s -> s.getBytes(StandardCharsets.UTF_8)).map(b -> {
                    if (b.length > 3) {
                        b[b.length / 2] = (byte) 0xC0; // an ill-formed sequence in the middle
                    }
                    return b;
                }));
    }
}
