package io.inferencepam.pam.guard;

import static io.inferencepam.pam.guard.GuardCalls.call;
import static io.inferencepam.pam.guard.GuardCalls.chat;
import static io.inferencepam.pam.guard.GuardCalls.error;
import static io.inferencepam.pam.guard.GuardCalls.passed;
import static io.inferencepam.pam.guard.GuardCalls.plugin;
import static io.inferencepam.pam.guard.GuardCalls.stop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Stop;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The hand-off to body checks: one strict parse, ordered checks, deny, rewrite (what the upstream gets), observe. */
class GuardBodyCheckTest {

    /** Records what it was handed. */
    static final class Seen {
        final List<String> calls = new CopyOnWriteArrayList<>();
    }

    /** conf {"cap": N}: caps max_tokens by rewriting; {"deny_field": "x"}: 400 when x is present. */
    static BodyCheck.Factory capFactory(Seen seen) {
        return new BodyCheck.Factory() {
            public String confKey() {
                return "test_cap";
            }

            public String confSchema() {
                return "{\"type\": \"object\", \"properties\": {\"cap\": {\"type\": \"integer\"}, \"deny_field\": {\"type\": \"string\"}}}";
            }

            public Optional<BodyCheck> create(JsonNode section) {
                if (section.isMissingNode()) {
                    return Optional.empty();
                }
                int cap = section.path("cap").asInt(Integer.MAX_VALUE);
                String denyField = section.path("deny_field").asText("");
                return Optional.of((shape, model, body, facts) -> {
                    seen.calls.add("cap:" + shape + ":" + model);
                    if (!denyField.isEmpty() && body.has(denyField)) {
                        return BodyCheckResult.deny("test-params/" + denyField, Stop.openAiError(400, "invalid_request_error",
                                "parameter_not_allowed", "The parameter `" + denyField + "` is not allowed on this route."));
                    }
                    JsonNode mt = body.get("max_tokens");
                    if (mt != null && mt.asInt() > cap) {
                        ObjectNode copy = body.deepCopy();
                        copy.put("max_tokens", cap);
                        return BodyCheckResult.rewrite("test-params/max_tokens", "max_tokens capped", copy);
                    }
                    return BodyCheckResult.pass();
                });
            }
        };
    }

    /** A second check that only records the max_tokens it sees (to show ordering). */
    static BodyCheck.Factory recorder(Seen seen) {
        return new BodyCheck.Factory() {
            public String confKey() {
                return "test_record";
            }

            public String confSchema() {
                return "{\"type\": \"boolean\"}";
            }

            public Optional<BodyCheck> create(JsonNode section) {
                return section.asBoolean(false) ? Optional.of((shape, model, body, facts) -> {
                    seen.calls.add("record:" + body.path("max_tokens").asText());
                    return BodyCheckResult.pass();
                }) : Optional.empty();
            }
        };
    }

    static String upstreamBody(RequestDecision d) {
        return ((RequestDecision.Proceed) d).rewrite().body().orElseThrow().utf8();
    }

    @Test
    void aRewriteIsWhatTheUpstreamReceivesAndLaterChecksSeeIt() {
        Seen seen = new Seen();
        Plugin p = plugin("{\"test_cap\":{\"cap\":16},\"test_record\":true}", capFactory(seen), recorder(seen));
        GuardCalls c = chat().body("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4096,"
                + "\"temperature\":0.10,\"logit_bias\":{\"50256\":-100}}");
        RequestDecision d = c.run(p);
        assertThat(passed(d)).isTrue();
        assertThat(upstreamBody(d)).isEqualTo("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":16,\"temperature\":0.10,\"logit_bias\":{\"50256\":-100}}");
        assertThat(seen.calls).containsExactly("cap:OPENAI_CHAT:m", "record:16");
        assertThat(c.decisions()).extracting(Decision::ruleId, Decision::outcome).containsExactly(
                org.assertj.core.groups.Tuple.tuple("catalog:openai/chat-completions", Decision.Outcome.ALLOW),
                org.assertj.core.groups.Tuple.tuple("test-params/max_tokens", Decision.Outcome.REWRITE));
    }

    @Test
    void noRewriteMeansTheBodyIsForwardedUntouched() {
        Seen seen = new Seen();
        Plugin p = plugin("{\"test_cap\":{\"cap\":100000}}", capFactory(seen));
        RequestDecision d = chat().run(p);
        assertThat(((RequestDecision.Proceed) d).rewrite().body()).isEmpty();
        assertThat(seen.calls).hasSize(1);
    }

    @Test
    void aDenyStopsTheCallWithTheChecksError() {
        Seen seen = new Seen();
        Plugin p = plugin("{\"test_cap\":{\"deny_field\":\"logprobs\"},\"test_record\":true}", capFactory(seen), recorder(seen));
        GuardCalls c = chat().body("{\"model\":\"m\",\"messages\":[],\"logprobs\":true}");
        RequestDecision d = c.run(p);
        assertThat(stop(d).status()).isEqualTo(400);
        assertThat(error(d).path("code").asText()).isEqualTo("parameter_not_allowed");
        assertThat(seen.calls).containsExactly("cap:OPENAI_CHAT:m"); // the later check never ran
        assertThat(c.decisions()).last().extracting(Decision::ruleId).isEqualTo("test-params/logprobs");
    }

    @Test
    void observeModeRecordsButChangesNothing() {
        Seen seen = new Seen();
        Plugin p = plugin("{\"mode\":\"observe\",\"test_cap\":{\"cap\":16,\"deny_field\":\"echo\"}}", capFactory(seen));
        GuardCalls c = chat().body("{\"model\":\"m\",\"messages\":[],\"max_tokens\":99}");
        RequestDecision d = c.run(p);
        assertThat(((RequestDecision.Proceed) d).rewrite().body()).isEmpty();
        assertThat(c.decisions()).last().extracting(Decision::reason).asString().startsWith("observe mode, would rewrite");
        GuardCalls e = chat().body("{\"model\":\"m\",\"messages\":[],\"echo\":true}");
        assertThat(passed(e.run(p))).isTrue();
        assertThat(e.decisions()).last().extracting(Decision::reason).asString().startsWith("observe mode, would refuse (HTTP 400)");
    }

    @Test
    void theModelIsPamAuthsWhenKnownElseWhereTheCatalogueSays() {
        Seen seen = new Seen();
        BodyCheck.Factory f = capFactory(seen);
        GuardCalls c = chat().body("{\"model\":\"Llama3\",\"messages\":[]}");
        c.facts().model("llama3:latest");
        c.run(plugin("{\"test_cap\":{}}", f));
        call("POST", "/api/chat").body("{\"name\":\"qwen\",\"messages\":[]}").run(plugin("{\"family\":\"ollama\",\"test_cap\":{}}", f));
        call("POST", "/v2/models/resnet/infer").body("{\"inputs\":[]}").run(plugin("{\"family\":\"kserve\",\"test_cap\":{}}", f));
        call("POST", "/generate").body("{\"inputs\":\"x\"}").run(plugin("{\"family\":\"tgi\",\"test_cap\":{}}", f));
        assertThat(seen.calls).containsExactly("cap:OPENAI_CHAT:llama3:latest", "cap:OLLAMA_CHAT:qwen",
                "cap:KSERVE_INFER:resnet", "cap:TGI_GENERATE:");
    }

    @Test
    void bodiesTheChecksCannotReadAreRefusedWhenChecksExist() {
        Seen seen = new Seen();
        Plugin p = plugin("{\"family\":\"vllm\",\"test_cap\":{}}", capFactory(seen));
        RequestDecision d = call("POST", "/invocations").run(p);
        assertThat(stop(d).status()).isEqualTo(403);
        assertThat(error(d).path("code").asText()).isEqualTo("endpoint_not_inspectable");
        // without checks the same endpoint passes; with a route rule that opens it explicitly too
        assertThat(passed(call("POST", "/invocations").run(plugin("{\"family\":\"vllm\"}")))).isTrue();
        Plugin opened = plugin("{\"family\":\"vllm\",\"test_cap\":{},\"rules\":[{\"id\":\"sm\",\"methods\":[\"POST\"],"
                + "\"path\":\"/invocations\",\"action\":\"allow\"}]}", capFactory(seen));
        assertThat(passed(call("POST", "/invocations").run(opened))).isTrue();
        // model-free and model-info endpoints are never handed to checks
        assertThat(passed(call("GET", "/v1/models").run(p))).isTrue();
        assertThat(seen.calls).isEmpty();
    }

    @Test
    void theStrictParseRefusesWhatAServerCouldReadDifferently() {
        Plugin p = plugin("{\"family\":\"ollama\",\"test_cap\":{}}", capFactory(new Seen()));
        String[][] cases = {
                {"{\"model\":\"a\",\"model\":\"b\"}", "duplicate_json_key"},
                {"{\"model\":\"a\",\"options\":{\"num_predict\":1,\"num_predict\":99999}}", "duplicate_json_key"},
                {"{\"model\":\"a\",\"options\":{\"num_predict\":1,\"NUM_PREDICT\":99999}}", "ambiguous_json_key"},
                {"{\"model\":\"a\",\"Stream\":true,\"stream\":false}", "ambiguous_json_key"},
                {"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"Role\":\"system\",\"content\":\"x\"}]}", "ambiguous_json_key"},
                {"{\"model\":\"a\",\"keep_alive\":1,\"\u212Aeep_alive\":2}", "ambiguous_json_key"},
                {"[1,2]", "invalid_json"},
                {"{\"model\":\"a\"} {}", "invalid_json"},
                {"{\"model\":\"a\",}", "invalid_json"},
                {"", "invalid_json"},
        };
        for (String[] c : cases) {
            RequestDecision d = call("POST", "/api/chat").body(c[0]).run(p);
            assertThat(stop(d).status()).as(c[0]).isEqualTo(400);
            assertThat(error(d).path("code").asText()).as(c[0]).isEqualTo(c[1]);
        }
        // deeper user data (a tool's JSON schema) may have such keys
        assertThat(passed(call("POST", "/api/chat").body("{\"model\":\"a\",\"tools\":[{\"function\":{\"parameters\":"
                + "{\"properties\":{\"id\":{},\"ID\":{}}}}}]}").run(p))).isTrue();
        GuardCalls bad = call("POST", "/api/chat");
        bad.body = Body.wrap(new byte[] {'{', '"', 'm', '"', ':', '"', (byte) 0xC0, (byte) 0xAD, '"', '}'});
        assertThat(error(bad.run(p)).path("message").asText()).contains("UTF-8");
        GuardCalls bom = call("POST", "/api/chat");
        bom.body = Body.wrap(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'});
        assertThat(stop(bom.run(p)).status()).isEqualTo(400);
        RequestDecision text = call("POST", "/api/chat").var("http_content_type", "text/plain").body("{}").run(p);
        assertThat(stop(text).status()).isEqualTo(415);
    }

    @Test
    void aThrowingCheckFailsClosed() {
        BodyCheck.Factory boom = new BodyCheck.Factory() {
            public String confKey() {
                return "boom";
            }

            public String confSchema() {
                return "{\"type\": \"boolean\"}";
            }

            public Optional<BodyCheck> create(JsonNode section) {
                return Optional.of((shape, model, body, facts) -> {
                    throw new IllegalStateException("bug");
                });
            }
        };
        // the runtime turns the exception into 503 (CallDispatcher); the plugin does not swallow it
        assertThatThrownBy(() -> chat().run(plugin("{}", boom))).isInstanceOf(IllegalStateException.class);
        // a check whose key clashes with pam-guard's own conf is a programming error, found at start
        BodyCheck.Factory clash = new BodyCheck.Factory() {
            public String confKey() {
                return "rules";
            }

            public String confSchema() {
                return "{}";
            }

            public Optional<BodyCheck> create(JsonNode section) {
                return Optional.empty();
            }
        };
        assertThatThrownBy(() -> new GuardPluginFactory(GuardCalls.env(), List.of(clash))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shapesComeFromTheCatalogue() {
        Seen seen = new Seen();
        BodyCheck.Factory f = capFactory(seen);
        Plugin p = plugin("{\"test_cap\":{}}", f);
        call("POST", "/v1/completions").body("{\"model\":\"m\",\"prompt\":\"x\"}").run(p);
        call("POST", "/v1/responses").body("{\"model\":\"m\",\"input\":\"x\"}").run(p);
        call("POST", "/v1/embeddings").body("{\"model\":\"m\",\"input\":\"x\"}").run(p);
        assertThat(seen.calls).containsExactly("cap:" + BodyShape.OPENAI_COMPLETIONS + ":m", "cap:OPENAI_RESPONSES:m",
                "cap:OPENAI_EMBEDDINGS:m");
    }
}
