package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The catalogue's invariants and a few facts per family, as the servers' code has them. */
class CatalogTest {

    static Optional<Endpoint> find(ApiFamily f, String method, String path) {
        return f.endpoint(method, PathPattern.segments(path));
    }

    static Optional<String> deniedBy(String method, String path) {
        String[] lower = PathPattern.lower(PathPattern.segments(path));
        for (Pack p : Catalog.PACKS) {
            for (Endpoint e : p.endpoints()) {
                if (e.acceptsMethod(method) && e.path().matchesIgnoringCase(lower)) {
                    return Optional.of(p.ruleId(e));
                }
            }
        }
        return Optional.empty();
    }

    @Test
    void packIdsAreUniqueAndEveryDangerousEndpointHasAReason() {
        Set<String> ids = new HashSet<>();
        for (Pack p : Catalog.PACKS) {
            assertThat(ids.add(p.id())).as(p.id()).isTrue();
            assertThat(p.checked()).isNotBlank();
            for (Endpoint e : p.endpoints()) {
                assertThat(e.reason()).as(p.ruleId(e)).hasSizeGreaterThan(15);
            }
        }
        for (ApiFamily f : Catalog.FAMILIES) {
            assertThat(f.checked()).as(f.id()).matches(".*\\d.*"); // names a version
        }
    }

    /** No pack denies an endpoint a family lists as legitimate: {} must not break plain inference. */
    @Test
    void noPackDeniesACataloguedLegitimateEndpoint() {
        for (ApiFamily f : Catalog.FAMILIES) {
            for (Endpoint e : f.endpoints()) {
                String sample = "/" + String.join("/", java.util.Arrays.stream(PathPattern.segments(e.path().toString()))
                        .map(s -> s.equals("**") ? "x" : s.replace("*", "m")).toList());
                if (e.path().toString().equals("/")) {
                    sample = "/";
                }
                for (String m : e.methods()) {
                    assertThat(deniedBy(m, sample)).as(f.id() + " " + m + " " + sample).isEmpty();
                }
            }
        }
    }

    @Test
    void vllmFacts() {
        assertThat(find(VllmApi.FAMILY, "POST", "/v1/chat/completions")).get().extracting(Endpoint::shape)
                .isEqualTo(BodyShape.OPENAI_CHAT);
        assertThat(find(VllmApi.FAMILY, "POST", "/v1/load_lora_adapter")).isEmpty();
        assertThat(deniedBy("POST", "/v1/load_lora_adapter")).hasValue("vllm@1/load-lora-adapter");
        assertThat(deniedBy("POST", "/collective_rpc")).hasValue("vllm@1/collective-rpc");
        assertThat(deniedBy("POST", "/scale_elastic_ep")).hasValue("vllm@1/scale-elastic-ep");
        assertThat(deniedBy("GET", "/metrics")).hasValue("vllm@1/metrics");
        assertThat(find(VllmApi.FAMILY, "POST", "/invocations")).get().extracting(Endpoint::shape).isEqualTo(BodyShape.NONE);
        assertThat(find(VllmApi.FAMILY, "GET", "/health")).get().extracting(Endpoint::kind).isEqualTo(Endpoint.Kind.MODEL_FREE);
    }

    @Test
    void openAiFacts() {
        assertThat(deniedBy("POST", "/v1/files")).hasValue("openai@1/files");
        assertThat(deniedBy("GET", "/v1/files/file-1/content")).hasValue("openai@1/files");
        assertThat(deniedBy("POST", "/v1/fine_tuning/jobs")).hasValue("openai@1/fine-tuning");
        assertThat(deniedBy("POST", "/v1/batches")).hasValue("openai@1/batches");
        assertThat(deniedBy("GET", "/v1/chat/completions")).hasValue("openai@1/stored-chat-completions");
        assertThat(deniedBy("POST", "/v1/chat/completions")).isEmpty();
        assertThat(deniedBy("DELETE", "/v1/models/ft:gpt-4o:acme")).hasValue("openai@1/delete-model");
        assertThat(deniedBy("GET", "/v1/models/ft:gpt-4o:acme")).isEmpty();
        Endpoint card = find(OpenAiApi.FAMILY, "GET", "/v1/models/meta-llama/Llama-3.1-8B").orElseThrow();
        assertThat(card.model().fromPath(PathPattern.segments("/v1/models/meta-llama/Llama-3.1-8B")))
                .isEqualTo("meta-llama/Llama-3.1-8B");
    }

    @Test
    void ollamaFacts() {
        for (String p : new String[] {"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs/sha256:abc"}) {
            assertThat(deniedBy("POST", p)).as(p).get().asString().startsWith("ollama@1/");
        }
        assertThat(deniedBy("GET", "/debug/pprof/heap")).hasValue("ollama@1/pprof");
        assertThat(find(OllamaApi.FAMILY, "POST", "/api/chat")).get().extracting(Endpoint::shape).isEqualTo(BodyShape.OLLAMA_CHAT);
        assertThat(find(OllamaApi.FAMILY, "GET", "/api/tags")).get().extracting(Endpoint::kind).isEqualTo(Endpoint.Kind.MODEL_FREE);
        assertThat(find(OllamaApi.FAMILY, "HEAD", "/api/tags")).isPresent();
    }

    @Test
    void kserveAndTritonFacts() {
        Endpoint infer = find(KServeApi.FAMILY, "POST", "/v2/models/resnet/versions/3/infer").orElseThrow();
        assertThat(infer.shape()).isEqualTo(BodyShape.KSERVE_INFER);
        assertThat(infer.model().fromPath(PathPattern.segments("/v2/models/resnet/versions/3/infer"))).isEqualTo("resnet");
        assertThat(deniedBy("POST", "/v2/repository/models/resnet/load")).hasValue("kserve@2/repository");
        assertThat(deniedBy("POST", "/v2/repository/index")).hasValue("kserve@2/repository");
        assertThat(deniedBy("POST", "/v2/systemsharedmemory/region/r1/register")).hasValue("kserve@2/system-shared-memory");
        assertThat(deniedBy("POST", "/v2/models/resnet/trace/setting")).hasValue("kserve@2/model-trace-setting");
        assertThat(deniedBy("POST", "/v2/models/resnet/versions/1/trace/setting")).hasValue("kserve@2/model-version-trace-setting");
        assertThat(deniedBy("GET", "/v2/models/resnet/versions/12/trace/setting")).hasValue("kserve@2/model-version-trace-setting");
        assertThat(deniedBy("POST", "/v2/logging")).hasValue("kserve@2/logging");
        Endpoint v1 = find(KServeApi.FAMILY, "POST", "/v1/models/iris:predict").orElseThrow();
        assertThat(v1.model().fromPath(PathPattern.segments("/v1/models/iris:predict"))).isEqualTo("iris");
        assertThat(KServeApi.modelFromPath("/v2/models/a/infer")).hasValue("a");
        assertThat(KServeApi.modelFromPath("/v2/models/")).isEmpty();
        assertThat(KServeApi.modelFromPath("/V2/models/a")).isEmpty();
    }

    @Test
    void tgiAndTorchServeFacts() {
        assertThat(find(TgiApi.FAMILY, "POST", "/")).get().extracting(Endpoint::shape).isEqualTo(BodyShape.TGI_GENERATE);
        assertThat(find(TgiApi.FAMILY, "POST", "/generate_stream")).get().extracting(Endpoint::stream)
                .isEqualTo(StreamFormat.SSE_TGI);
        assertThat(deniedBy("POST", "/models")).hasValue("torchserve@1/register-model");
        assertThat(deniedBy("PUT", "/models/resnet")).hasValue("torchserve@1/scale-or-set-default");
        assertThat(deniedBy("DELETE", "/models/resnet/1.0")).hasValue("torchserve@1/unregister-model");
        assertThat(deniedBy("POST", "/token")).hasValue("torchserve@1/token");
        assertThat(deniedBy("POST", "/models/resnet/invoke")).isEmpty();
        assertThat(find(TorchServeApi.FAMILY, "POST", "/predictions/resnet")).isPresent();
        assertThat(deniedBy("POST", "/update_weights_from_disk")).hasValue("sglang@1/update-weights-from-disk");
        assertThat(deniedBy("POST", "/key/generate")).hasValue("litellm@1/keys");
    }
}
