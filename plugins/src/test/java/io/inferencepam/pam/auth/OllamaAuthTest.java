package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Ollama routes: model-name aliases cannot slip past deny rules; management endpoints are off by default. */
class OllamaAuthTest {
    private TestIdp idp;
    private TestEnv env;
    private PamAuthFactory factory;

    @BeforeEach
    void setUp() throws Exception {
        idp = new TestIdp();
        env = new TestEnv();
        factory = new PamAuthFactory(new PamServices(env));
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
        idp.close();
    }

    Plugin plugin(String entitlements, String extra) throws Exception {
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],\"api\":\"ollama\","
                + "\"deny_status\":403,\"entitlements\":" + entitlements + (extra.isEmpty() ? "" : "," + extra) + "}";
        return factory.create(new ObjectMapper().readTree(conf));
    }

    RequestDecision call(Plugin p, String path, String body) throws Exception {
        return Calls.chat(idp.token()).path(path).body(body).run(p);
    }

    static void assertDenied(RequestDecision d, int status, String code) {
        assertThat(d).isInstanceOf(RequestDecision.Halt.class);
        var stop = ((RequestDecision.Halt) d).stop();
        assertThat(stop.status()).isEqualTo(status);
        assertThat(stop.body().utf8()).contains("\"code\":\"" + code + "\"").contains("\"type\":\"invalid_request_error\"");
    }

    /**
     * Where the path decides (Ollama), pam-auth judges the target the model server receives
     * ({@code real_request_uri}), not APISIX 3.18's {@code request_uri}, which is the normalised path
     * and always looks canonical; without {@code real_request_uri} the call is refused.
     */
    @Test
    void theRawTargetIsRealRequestUri() throws Exception {
        Plugin p = plugin("[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":[\"llama3\"]}]", "");
        String body = "{\"model\":\"llama3\",\"messages\":[]}";
        assertThat(Calls.chat(idp.token()).path("/api/chat").body(body).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        for (String raw : List.of("/api/%63hat", "//api/chat", "/api/x/../chat", "/api%2Fchat")) {
            RequestDecision d = Calls.chat(idp.token()).path("/api/chat").raw(raw).body(body).run(p);
            assertThat(((RequestDecision.Halt) d).stop().body().utf8()).as(raw).contains("\"code\":\"non_canonical_path\"");
        }
        RequestDecision missing = Calls.chat(idp.token()).path("/api/chat").noRawTarget().body(body).run(p);
        assertThat(((RequestDecision.Halt) missing).stop().body().utf8()).contains("\"code\":\"missing_request_uri\"");
    }

    @Test
    void canonicalNames() {
        for (String alias : List.of("llama3", "llama3:latest", "library/llama3", "library/llama3:latest",
                "registry.ollama.ai/library/llama3", "registry.ollama.ai/library/llama3:latest", "LLaMA3",
                "Registry.Ollama.AI/Library/Llama3:LATEST", "https://registry.ollama.ai/library/llama3")) {
            assertThat(OllamaNames.canonical(alias)).as(alias).hasValue("llama3:latest");
        }
        assertThat(OllamaNames.canonical("llama3:8B")).hasValue("llama3:8b");
        assertThat(OllamaNames.canonical("jmorgan/llama3")).hasValue("jmorgan/llama3:latest");
        assertThat(OllamaNames.canonical("registry.ollama.ai/jmorgan/llama3:q4")).hasValue("jmorgan/llama3:q4");
        // two parts are namespace/model: "registry.ollama.ai/llama3" is another model than llama3
        assertThat(OllamaNames.canonical("registry.ollama.ai/llama3")).hasValue("registry.ollama.ai/llama3:latest");
        assertThat(OllamaNames.canonical("example.com/library/llama3")).hasValue("example.com/library/llama3:latest");
        for (String bad : List.of("llama3@sha256:abc", "a/b/c/d", "/llama3", "library//llama3", "llama3:", ":latest")) {
            assertThat(OllamaNames.canonical(bad)).as(bad).isEmpty();
        }
    }

    @Test
    void canonicalPatterns() {
        assertThat(OllamaNames.canonicalPattern("llama3")).isEqualTo("llama3:latest");
        assertThat(OllamaNames.canonicalPattern("Library/Llama3")).isEqualTo("llama3:latest");
        assertThat(OllamaNames.canonicalPattern("llama3:*")).isEqualTo("llama3:*");
        assertThat(OllamaNames.canonicalPattern("registry.ollama.ai/library/llama3:*")).isEqualTo("llama3:*");
        assertThat(OllamaNames.canonicalPattern("llama3*")).isEqualTo("llama3*:*");
        assertThat(OllamaNames.canonicalPattern("llama?")).isEqualTo("llama?:latest");
        assertThat(OllamaNames.canonicalPattern("*")).isEqualTo("*:*");
        assertThat(OllamaNames.canonicalPattern("jmorgan/*")).isEqualTo("jmorgan/*:*");
        assertThatThrownBy(() -> OllamaNames.canonicalPattern("library/*")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OllamaNames.canonicalPattern("registry.ollama.ai/*")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void denyRulesHoldForEveryAliasOfTheModel() throws Exception {
        Plugin p = plugin("[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"*\"],\"deny\":[\"llama3\"]}]", "");
        for (String alias : List.of("llama3", "llama3:latest", "library/llama3", "registry.ollama.ai/library/llama3:latest",
                "LLAMA3", "Library/Llama3:Latest")) {
            assertDenied(call(p, "/api/chat", "{\"model\":\"" + alias + "\",\"messages\":[]}"), 403, "model_not_permitted");
            assertDenied(call(p, "/api/generate", "{\"model\":\"" + alias + "\",\"prompt\":\"hi\"}"), 403, "model_not_permitted");
        }
        // other tags are other models: "llama3" in a rule means llama3:latest
        Calls c = Calls.chat(idp.token()).path("/api/chat").body("{\"model\":\"llama3:70b\"}");
        assertThat(c.run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(c.facts().model()).hasValue("llama3:70b");
    }

    @Test
    void allTagsPatternAndCanonicalNameInCallFacts() throws Exception {
        Plugin p = plugin("[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":[\"Library/Llama3:*\"]}]", "");
        for (String path : List.of("/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api/show")) {
            Calls c = Calls.chat(idp.token()).path(path).body("{\"model\":\"registry.ollama.ai/library/LLAMA3\"}");
            assertThat(c.run(p)).as(path).isInstanceOf(RequestDecision.Proceed.class);
            assertThat(c.facts().model()).hasValue("llama3:latest");
        }
        assertThat(call(p, "/api/chat", "{\"model\":\"llama3:8b\"}")).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(call(p, "/api/show", "{\"name\":\"llama3:8b\"}")).isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(call(p, "/api/chat", "{\"model\":\"mistral\"}"), 403, "model_not_permitted");
        assertDenied(call(p, "/api/chat", "{\"model\":\"jmorgan/llama3\"}"), 403, "model_not_permitted");
        // a digest cannot be mapped to a name without asking the server
        assertDenied(call(p, "/api/chat", "{\"model\":\"llama3@sha256:0123\"}"), 400, "invalid_model");
        // the x-model header and ?model= are compared in canonical form too
        Calls h = Calls.chat(idp.token()).path("/api/chat").body("{\"model\":\"llama3\"}");
        h.vars.put("http_x_model", "library/llama3:latest");
        assertThat(h.run(p)).isInstanceOf(RequestDecision.Proceed.class);
        Calls h2 = Calls.chat(idp.token()).path("/api/chat").body("{\"model\":\"llama3\"}");
        h2.vars.put("http_x_model", "llama3:8b");
        assertDenied(h2.run(p), 400, "ambiguous_model");
    }

    @Test
    void managementEndpointsAreDeniedByDefaultEvenWhenDeclaredModelFree() throws Exception {
        Plugin p = plugin("[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":[\"*\"]}]",
                "\"model_free_paths\":[\"POST /api/create\",\"POST /api/blobs/sha256:abc\"]");
        for (String path : List.of("/api/create", "/api/copy", "/api/pull", "/api/push", "/api/delete",
                "/api/blobs/sha256:abc", "/api/create/", "/API/Pull")) {
            RequestDecision d = call(p, path, "{\"model\":\"llama3\",\"source\":\"llama3\",\"destination\":\"x\"}");
            assertDenied(d, 403, "ollama_management_disabled");
            assertThat(((RequestDecision.Halt) d).stop().body().utf8()).contains("disabled on this route");
        }
    }

    @Test
    void allowedManagementChecksEveryModelItNames() throws Exception {
        Plugin p = plugin("[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":[\"llama3:*\",\"mine-*\"],\"deny\":[\"secret*\"]}]",
                "\"ollama_management\":true");
        assertThat(call(p, "/api/pull", "{\"model\":\"llama3\"}")).isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(call(p, "/api/pull", "{\"model\":\"secret-model\"}"), 403, "model_not_permitted");
        assertThat(call(p, "/api/delete", "{\"model\":\"mine-a\"}")).isInstanceOf(RequestDecision.Proceed.class);
        // copy: the source must be entitled, not just the destination
        assertThat(call(p, "/api/copy", "{\"source\":\"llama3\",\"destination\":\"mine-copy\"}")).isInstanceOf(RequestDecision.Proceed.class);
        RequestDecision copy = call(p, "/api/copy", "{\"source\":\"Secret-Model\",\"destination\":\"mine-copy\"}");
        assertDenied(copy, 403, "model_not_permitted");
        assertThat(((RequestDecision.Halt) copy).stop().body().utf8()).contains("secret-model:latest");
        assertDenied(call(p, "/api/copy", "{\"source\":\"llama3\",\"destination\":\"secret-x\"}"), 403, "model_not_permitted");
        assertDenied(call(p, "/api/copy", "{\"source\":\"llama3\"}"), 400, "model_required");
        // create: from, and every FROM line of a modelfile
        assertThat(call(p, "/api/create", "{\"model\":\"mine-a\",\"from\":\"llama3\"}")).isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(call(p, "/api/create", "{\"model\":\"mine-a\",\"from\":\"secret-model\"}"), 403, "model_not_permitted");
        assertDenied(call(p, "/api/create", "{\"name\":\"mine-a\",\"modelfile\":\"FROM llama3\\nSYSTEM hi\\n  from secret-model\"}"),
                403, "model_not_permitted");
        assertThat(call(p, "/api/create", "{\"name\":\"mine-a\",\"modelfile\":\"FROM llama3:8b\\nPARAMETER x 1\"}"))
                .isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(call(p, "/api/create", "{\"model\":\"mine-a\",\"name\":\"mine-b\"}"), 400, "ambiguous_model");
        assertDenied(call(p, "/api/create", "{\"model\":\"secret-new\",\"from\":\"llama3\"}"), 403, "model_not_permitted");
        // blobs carry no model name
        assertThat(call(p, "/api/blobs/sha256:abc", "{}")).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void unfaithfulOllamaPatternsAreRefusedAtConfTime() throws Exception {
        assertThatThrownBy(() -> plugin("[{\"id\":\"a\",\"groups\":[\"g\"],\"deny\":[\"library/*\"]}]", ""))
                .isInstanceOf(InvalidConfException.class);
        // on other API families patterns stay as written
        assertThat(parse("{\"issuer\":\"https://i\",\"audiences\":[\"a\"],"
                + "\"entitlements\":[{\"id\":\"a\",\"deny\":[\"Library/*\",\"llama3\"]}]}").entitlements().get(0).deny())
                .extracting(Glob::pattern).containsExactly("Library/*", "llama3");
        assertThat(parse("{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"api\":\"ollama\","
                + "\"entitlements\":[{\"id\":\"a\",\"deny\":[\"Library/Llama3\",\"llama3:*\"]}]}").entitlements().get(0).deny())
                .extracting(Glob::pattern).containsExactly("llama3:latest", "llama3:*");
        assertThat(parse("{\"issuer\":\"https://i\",\"audiences\":[\"a\"]}").ollamaManagement()).isFalse();
    }

    static AuthConf parse(String json) throws Exception {
        return AuthConf.parse(new ObjectMapper().readTree(json));
    }
}
