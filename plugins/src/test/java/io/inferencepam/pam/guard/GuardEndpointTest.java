package io.inferencepam.pam.guard;

import static io.inferencepam.pam.guard.GuardCalls.call;
import static io.inferencepam.pam.guard.GuardCalls.chat;
import static io.inferencepam.pam.guard.GuardCalls.error;
import static io.inferencepam.pam.guard.GuardCalls.passed;
import static io.inferencepam.pam.guard.GuardCalls.plugin;
import static io.inferencepam.pam.guard.GuardCalls.stop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.pam.catalog.Catalog;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.Pack;
import io.inferencepam.pam.catalog.PathPattern;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The endpoint decision: packs, allow-only-inference, route rules, observe mode. */
class GuardEndpointTest {
    static final Plugin DEFAULT = plugin("{}");

    /** A concrete path for a pattern: {@code *} → a name, {@code **} → one more segment. */
    static String sample(PathPattern p) {
        return "/" + Arrays.stream(PathPattern.segments(p.toString()))
                .map(s -> s.equals("**") ? "x1" : s.replace("*", "m1")).collect(Collectors.joining("/"));
    }

    static String method(Endpoint e) {
        return e.methods().contains("*") ? "POST" : e.methods().iterator().next();
    }

    @Test
    void emptyConfBlocksEveryCataloguedDangerousEndpointNamingTheRuleAndReason() {
        int n = 0;
        for (Pack pack : Catalog.PACKS) {
            for (Endpoint e : pack.endpoints()) {
                String path = sample(e.path());
                RequestDecision d = call(method(e), path).run(DEFAULT);
                assertThat(stop(d).status()).as(pack.ruleId(e) + " " + path).isEqualTo(403);
                // the first pack listing the path decides (e.g. /metrics is in several)
                assertThat(error(d).path("code").asText()).isEqualTo("endpoint_blocked");
                assertThat(error(d).path("message").asText()).containsPattern("@[0-9]+/").contains("Request refused by rule");
                n++;
            }
        }
        assertThat(n).isGreaterThan(80);
        RequestDecision lora = call("POST", "/v1/load_lora_adapter").body("{\"lora_name\":\"x\",\"lora_path\":\"/tmp/x\"}").run(DEFAULT);
        assertThat(error(lora).path("message").asText())
                .startsWith("Request refused by rule vllm@1/load-lora-adapter: loads LoRA adapter weights");
        assertThat(error(lora).path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(stop(lora).headers().first("content-type")).hasValue("application/json");
    }

    @Test
    void blockedCallsRecordTheVersionedRule() {
        GuardCalls c = call("POST", "/collective_rpc");
        c.run(DEFAULT);
        assertThat(c.decisions()).singleElement().satisfies(d -> {
            assertThat(d.plugin()).isEqualTo("pam-guard");
            assertThat(d.ruleId()).isEqualTo("vllm@1/collective-rpc");
            assertThat(d.outcome()).isEqualTo(Decision.Outcome.DENY);
            assertThat(d.reason()).startsWith("HTTP 403: calls any engine worker method");
        });
    }

    @Test
    void inferenceModelInfoAndHealthPass() {
        assertThat(passed(chat().run(DEFAULT))).isTrue();
        assertThat(passed(call("POST", "/v1/completions").run(DEFAULT))).isTrue();
        assertThat(passed(call("POST", "/v1/embeddings").run(DEFAULT))).isTrue();
        assertThat(passed(call("POST", "/v1/responses").run(DEFAULT))).isTrue();
        assertThat(passed(call("GET", "/v1/models").run(DEFAULT))).isTrue();
        assertThat(passed(call("HEAD", "/v1/models").run(DEFAULT))).isTrue();
        assertThat(passed(call("GET", "/v1/models/meta-llama/Llama-3.1-8B").run(DEFAULT))).isTrue();
        assertThat(passed(call("OPTIONS", "/v1/chat/completions").run(DEFAULT))).isTrue();
        GuardCalls c = chat();
        c.run(DEFAULT);
        assertThat(c.decisions()).singleElement().extracting(Decision::ruleId).isEqualTo("catalog:openai/chat-completions");
    }

    @Test
    void allowOnlyInferenceIsTheDefaultAndRefusesUncataloguedEndpoints() {
        RequestDecision d = call("POST", "/v1/brand_new_admin_endpoint").run(DEFAULT);
        assertThat(stop(d).status()).isEqualTo(403);
        assertThat(error(d).path("code").asText()).isEqualTo("endpoint_not_allowed");
        assertThat(error(d).path("message").asText()).contains("allow-only-inference/openai");
        // GET on an inference path is not inference (and on chat/completions it lists stored completions)
        assertThat(stop(call("GET", "/v1/embeddings").run(DEFAULT)).status()).isEqualTo(403);
        // family-specific endpoints: /tokenize is vLLM's, not plain OpenAI's
        assertThat(stop(call("POST", "/tokenize").run(DEFAULT)).status()).isEqualTo(403);
        assertThat(passed(call("POST", "/tokenize").run(plugin("{\"family\":\"vllm\"}")))).isTrue();
        assertThat(passed(call("POST", "/api/chat").run(plugin("{\"family\":\"ollama\"}")))).isTrue();
        assertThat(passed(call("GET", "/api/tags").run(plugin("{\"family\":\"ollama\"}")))).isTrue();
        assertThat(stop(call("POST", "/api/chat").run(DEFAULT)).status()).isEqualTo(403);
        assertThat(passed(call("POST", "/v2/models/resnet/infer").run(plugin("{\"family\":\"kserve\"}")))).isTrue();
        assertThat(passed(call("POST", "/generate_stream").run(plugin("{\"family\":\"tgi\"}")))).isTrue();
        assertThat(passed(call("POST", "/predictions/resnet").run(plugin("{\"family\":\"torchserve\"}")))).isTrue();
        // off: what no pack lists passes
        Plugin open = plugin("{\"allow_only_inference\":false}");
        assertThat(passed(call("POST", "/v1/brand_new_admin_endpoint").run(open))).isTrue();
        assertThat(stop(call("POST", "/v1/load_lora_adapter").run(open)).status()).isEqualTo(403);
    }

    @Test
    void packsCanBeDisabledPerRoute() {
        Plugin p = plugin("{\"disabled_packs\":[\"vllm\"],\"allow_only_inference\":false}");
        assertThat(passed(call("POST", "/v1/load_lora_adapter").run(p))).isTrue();
        assertThat(stop(call("POST", "/v1/files").run(p)).status()).isEqualTo(403);
        // disabling a pack does not open an endpoint allow-only-inference refuses
        RequestDecision d = call("POST", "/v1/load_lora_adapter").run(plugin("{\"disabled_packs\":[\"vllm\"]}"));
        assertThat(error(d).path("code").asText()).isEqualTo("endpoint_not_allowed");
    }

    @Test
    void routeRulesComeFirstDenyBroadlyAllowNarrowly() {
        Plugin p = plugin("""
                {"family":"vllm","rules":[
                  {"id":"admins-lora","methods":["POST"],"path":"/v1/load_lora_adapter","action":"allow"},
                  {"id":"no-embeddings","path":"/v1/embeddings","action":"deny","reason":"embeddings are billed elsewhere"},
                  {"id":"no-v2","path":"/v2/**","action":"deny"}
                ]}""");
        GuardCalls lora = call("POST", "/v1/load_lora_adapter");
        assertThat(passed(lora.run(p))).isTrue();
        assertThat(lora.decisions()).singleElement().extracting(Decision::ruleId).isEqualTo("custom:admins-lora");
        // the allow is exact: another case or another method is not opened (and the pack still blocks it)
        assertThat(stop(call("POST", "/v1/LOAD_LORA_ADAPTER").run(p)).status()).isEqualTo(403);
        assertThat(error(call("GET", "/v1/load_lora_adapter").run(p)).path("message").asText()).contains("vllm@1/");
        RequestDecision emb = call("POST", "/V1/Embeddings").run(p);
        assertThat(error(emb).path("message").asText())
                .isEqualTo("Request refused by rule custom:no-embeddings: embeddings are billed elsewhere.");
        assertThat(error(call("POST", "/v2/embed").run(p)).path("message").asText()).contains("custom:no-v2");
    }

    @Test
    void observeModeRecordsAndPasses() {
        Plugin p = plugin("{\"mode\":\"observe\"}");
        GuardCalls c = call("POST", "/v1/load_lora_adapter");
        assertThat(passed(c.run(p))).isTrue();
        assertThat(c.decisions()).singleElement().satisfies(d -> {
            assertThat(d.ruleId()).isEqualTo("vllm@1/load-lora-adapter");
            assertThat(d.outcome()).isEqualTo(Decision.Outcome.ALLOW);
            assertThat(d.reason()).startsWith("observe mode, would refuse (403 endpoint_blocked)");
        });
        GuardCalls u = call("POST", "/v1/unknown");
        assertThat(passed(u.run(p))).isTrue();
        assertThat(u.decisions()).singleElement().extracting(Decision::ruleId).isEqualTo("allow-only-inference/openai");
        assertThat(GuardCalls.METRICS.scrape()).contains("pam_guard_endpoint_blocks_total{group=\"vllm@1\",mode=\"observe\"}");
        // hygiene is enforced in observe mode too: a path the guard cannot read is never guessed
        assertThat(stop(call("POST", "/v1/load_lora_adapter/").run(p)).status()).isEqualTo(400);
    }

    @Test
    void anOllamaManagementRouteOpensTheEndpointsItServesWithRules() {
        Plugin p = plugin("{\"family\":\"ollama\",\"rules\":[{\"id\":\"pull\",\"methods\":[\"POST\"],"
                + "\"path\":\"/api/pull\",\"action\":\"allow\"}]}");
        assertThat(passed(call("POST", "/api/pull").run(p))).isTrue();
        assertThat(error(call("POST", "/api/push").run(p)).path("message").asText()).contains("ollama@1/push");
        assertThat(error(call("DELETE", "/api/delete").run(p)).path("message").asText()).contains("ollama@1/delete");
    }

    @Test
    void defaultsAreOpenAiFamilyEnforceEveryPackAndOneMebibyte() throws Exception {
        GuardConf c = GuardConf.parse(GuardCalls.M.readTree("{}"));
        assertThat(c.family().id()).isEqualTo("openai");
        assertThat(c.mode()).isEqualTo(GuardMode.ENFORCE);
        assertThat(c.packs()).isEqualTo(Catalog.PACKS);
        assertThat(c.allowOnlyInference()).isTrue();
        assertThat(c.maxBodyBytes()).isEqualTo(1024 * 1024);
        assertThat(passed(call("POST", "/generate").run(plugin("{\"family\":\"sglang\"}")))).isTrue();
        assertThat(stop(call("POST", "/update_weights_from_disk").run(plugin("{\"family\":\"sglang\"}"))).status())
                .isEqualTo(403);
    }

    @Test
    void confIsValidatedOnce() {
        assertThatThrownBy(() -> plugin("{\"family\":\"openapi\"}")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> plugin("{\"disabled_packs\":[\"nope\"]}")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> plugin("{\"rules\":[{\"id\":\"a\",\"path\":\"/x//y\",\"action\":\"deny\"}]}"))
                .hasMessageContaining("$.rules[0].path");
        assertThatThrownBy(() -> plugin("{\"rules\":[{\"id\":\"a\",\"path\":\"/x\",\"action\":\"deny\"},"
                + "{\"id\":\"a\",\"path\":\"/y\",\"action\":\"deny\"}]}")).hasMessageContaining("duplicate rule id");
        assertThatThrownBy(() -> plugin("{\"modes\":\"observe\"}")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> plugin("{\"max_body_bytes\":10}")).isInstanceOf(IllegalArgumentException.class);
    }
}
