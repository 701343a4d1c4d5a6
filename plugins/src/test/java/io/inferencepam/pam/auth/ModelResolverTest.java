package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Model resolution per server family, and every bypass attempt from market.md §3-C. */
class ModelResolverTest {
    static final ModelResolver OPENAI = new ModelResolver(ModelApi.OPENAI, "", Set.of("GET /v1/models"), List.of("model"));
    static final ModelResolver OLLAMA = new ModelResolver(ModelApi.OLLAMA, "", Set.of(), List.of("model"));
    static final ModelResolver KSERVE = new ModelResolver(ModelApi.KSERVE, "", Set.of("GET /v2/health/ready"), List.of("model"));
    static final ModelResolver FIXED = new ModelResolver(ModelApi.FIXED, "tgi-mistral-7b", Set.of(), List.of("model"));

    static ModelRequest req(String method, String rawUri, String path, String contentType, String body, String... args) {
        return new ModelRequest(method, path, Optional.of(rawUri), Headers.of(args), Optional.ofNullable(contentType),
                List.of(), Optional.ofNullable(body).map(Body::utf8));
    }

    static ModelRequest chat(String body) {
        return req("POST", "/v1/chat/completions", "/v1/chat/completions", "application/json", body);
    }

    static String model(ModelOutcome o) {
        assertThat(o).isInstanceOf(ModelOutcome.Resolved.class);
        return ((ModelOutcome.Resolved) o).model();
    }

    static Rejection refused(ModelOutcome o) {
        assertThat(o).isInstanceOf(ModelOutcome.Refused.class);
        return ((ModelOutcome.Refused) o).rejection();
    }

    @Test
    void openAiEndpointsTakeTheBodyModel() {
        for (String p : List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")) {
            assertThat(model(OPENAI.resolve(req("POST", p, p, "application/json; charset=utf-8", "{\"model\":\"gpt-x\",\"input\":[1,{\"a\":2}]}"))))
                    .isEqualTo("gpt-x");
        }
        assertThat(OPENAI.resolve(req("GET", "/v1/models", "/v1/models", null, null))).isInstanceOf(ModelOutcome.ModelFree.class);
    }

    @Test
    void ollamaKserveAndFixedFamilies() {
        assertThat(model(OLLAMA.resolve(req("POST", "/api/chat", "/api/chat", "application/json", "{\"model\":\"llama3:8b\"}")))).isEqualTo("llama3:8b");
        assertThat(model(OLLAMA.resolve(req("POST", "/api/show", "/api/show", "application/json", "{\"name\":\"llama3:8b\"}")))).isEqualTo("llama3:8b");
        assertThat(refused(OLLAMA.resolve(req("POST", "/api/show", "/api/show", "application/json", "{\"name\":\"a\",\"model\":\"b\"}"))).code())
                .isEqualTo("ambiguous_model");
        assertThat(model(KSERVE.resolve(req("POST", "/v2/models/resnet/infer", "/v2/models/resnet/infer", null, null)))).isEqualTo("resnet");
        assertThat(model(KSERVE.resolve(req("POST", "/v2/models/resnet/versions/3/infer", "/v2/models/resnet/versions/3/infer", null, null))))
                .isEqualTo("resnet");
        assertThat(model(KSERVE.resolve(req("GET", "/v2/models/resnet", "/v2/models/resnet", null, null)))).isEqualTo("resnet");
        assertThat(KSERVE.resolve(req("GET", "/v2/health/ready", "/v2/health/ready", null, null))).isInstanceOf(ModelOutcome.ModelFree.class);
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/repository/index", "/v2/repository/index", null, null))).code()).isEqualTo("model_required");
        assertThat(model(FIXED.resolve(req("POST", "/generate", "/generate", null, "{\"model\":\"whatever\"}")))).isEqualTo("tgi-mistral-7b");
    }

    @Test
    void queryModelDifferentFromBodyIsRefused() {
        Rejection r = refused(OPENAI.resolve(req("POST", "/v1/chat/completions?model=gpt-4", "/v1/chat/completions",
                "application/json", "{\"model\":\"llama-3-8b\"}", "model", "gpt-4")));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.code()).isEqualTo("ambiguous_model");
        // the same value twice is fine
        assertThat(model(OPENAI.resolve(req("POST", "/v1/chat/completions?model=a", "/v1/chat/completions",
                "application/json", "{\"model\":\"a\"}", "model", "a")))).isEqualTo("a");
        // a bare ?model flag, and a model-free path with a query model, are refused too
        assertThat(refused(OPENAI.resolve(req("POST", "/v1/chat/completions?model", "/v1/chat/completions",
                "application/json", "{\"model\":\"a\"}", "model", null))).code()).isEqualTo("ambiguous_model");
        assertThat(refused(OPENAI.resolve(req("GET", "/v1/models?model=x", "/v1/models", null, null, "model", "x"))).code())
                .isEqualTo("ambiguous_model");
        // KServe: the path names the model, a query must not name another
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/a/infer?model=b", "/v2/models/a/infer", null, null, "model", "b"))).code())
                .isEqualTo("ambiguous_model");
    }

    @Test
    void headerModelDifferentFromBodyIsRefused() {
        ModelRequest r = new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"), Headers.empty(),
                Optional.of("application/json"), List.of(new ModelRequest.NamedValue("x-model", "gpt-4")),
                Optional.of(Body.utf8("{\"model\":\"llama-3-8b\"}")));
        assertThat(refused(OPENAI.resolve(r)).code()).isEqualTo("ambiguous_model");
    }

    @Test
    void duplicateKeysAnywhereAreRefused() {
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"llama-3-8b\",\"model\":\"gpt-4\"}"))).code()).isEqualTo("duplicate_json_key");
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"role\":\"system\"}]}"))).code())
                .isEqualTo("duplicate_json_key");
        // an escaped key that decodes to "model" is a duplicate too
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"a\",\"mod\\u0065l\":\"b\"}"))).code()).isEqualTo("duplicate_json_key");
    }

    @Test
    void missingOrWrongContentTypeIsRefused() {
        for (String ct : new String[] {null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16",
            "application/jsonx", "multipart/form-data"}) {
            Rejection r = refused(OPENAI.resolve(req("POST", "/v1/chat/completions", "/v1/chat/completions", ct, "{\"model\":\"a\"}")));
            assertThat(r.status()).isEqualTo(415);
        }
        assertThat(model(OPENAI.resolve(req("POST", "/v1/chat/completions", "/v1/chat/completions", "Application/JSON; charset=\"UTF-8\"",
                "{\"model\":\"a\"}")))).isEqualTo("a");
    }

    @Test
    void unparseableOrOddBodiesAreRefused() {
        for (String b : List.of("", "{", "[]", "\"model\"", "{\"model\":\"a\"} {\"model\":\"b\"}", "{\"model\":\"a\"}x",
                "{'model':'a'}", "{\"model\":\"a\",}", "{\"model\":\"a\" /* c */}", "{\"model\":NaN}")) {
            assertThat(OPENAI.resolve(chat(b))).as(b).isInstanceOf(ModelOutcome.Refused.class);
        }
        assertThat(refused(OPENAI.resolve(chat("{\"model\":[\"a\"]}"))).code()).isEqualTo("invalid_model");
        assertThat(refused(OPENAI.resolve(chat("{\"model\":null}"))).code()).isEqualTo("invalid_model");
        assertThat(refused(OPENAI.resolve(chat("{\"messages\":[]}"))).code()).isEqualTo("model_required");
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"\"}"))).code()).isEqualTo("invalid_model");
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"a\\u0000b\"}"))).code()).isEqualTo("invalid_model");
        // UTF-16 with BOM, invalid UTF-8
        byte[] utf16 = "\uFEFF{\"model\":\"a\"}".getBytes(java.nio.charset.StandardCharsets.UTF_16BE);
        assertThat(OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(Body.wrap(utf16))))).isInstanceOf(ModelOutcome.Refused.class);
        byte[] badUtf8 = {'{', '"', 'm', 'o', 'd', 'e', 'l', '"', ':', '"', (byte) 0xC3, '"', '}'};
        assertThat(OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(Body.wrap(badUtf8))))).isInstanceOf(ModelOutcome.Refused.class);
        // no body at all
        assertThat(OPENAI.resolve(req("POST", "/v1/chat/completions", "/v1/chat/completions", "application/json", null)))
                .isInstanceOf(ModelOutcome.Refused.class);
    }

    @Test
    void encodedAndCaseChangedPathsAreRefused() {
        // nginx's $uri is decoded; $request_uri is what the client sent
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/a%2Fb/infer", "/v2/models/a/b/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/%2e%2e/secret/infer", "/v2/secret/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/a%252Fb/infer", "/v2/models/a%2Fb/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "/V2/Models/resnet/infer", "/V2/Models/resnet/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/a/../b/infer", "/v2/models/b/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "//v2/models/a/infer", "/v2/models/a/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        assertThat(refused(KSERVE.resolve(req("POST", "/v2/models/a;b=c/infer", "/v2/models/a;b=c/infer", null, null))).code())
                .isEqualTo("non_canonical_path");
        // a case-changed model-free path is not model-free
        assertThat(OPENAI.resolve(req("GET", "/V1/models", "/V1/models", null, null))).isInstanceOf(ModelOutcome.Refused.class);
        assertThat(OPENAI.resolve(req("GET", "/v1/models%2F", "/v1/models/", null, null))).isInstanceOf(ModelOutcome.Refused.class);
    }

    /**
     * The raw URI is read only where the path decides the model or its absence (issue 15: one question
     * fewer on an ordinary inference call). There a missing or non-canonical raw URI is refused as
     * before; on a body-model path the body model is entitled whatever the path, and pam-guard's
     * catalogue judges the endpoint.
     */
    @Test
    void theRawUriIsNeededOnlyWhereThePathDecides() {
        assertThat(OPENAI.pathDecides("GET", "/v1/models")).isTrue();
        assertThat(OPENAI.pathDecides("POST", "/v1/chat/completions")).isFalse();
        assertThat(OPENAI.pathDecides("GET", "/v1/chat/completions")).isFalse();
        assertThat(KSERVE.pathDecides("POST", "/v2/models/a/infer")).isTrue();
        assertThat(OLLAMA.pathDecides("POST", "/api/chat")).as("Ollama management paths are decided on the path").isTrue();
        assertThat(FIXED.pathDecides("POST", "/generate")).isFalse();
        // no $request_uri where the path decides: cannot be checked, refused
        assertThat(refused(OPENAI.resolve(new ModelRequest("GET", "/v1/models", Optional.empty(), Headers.empty(),
                Optional.empty(), List.of(), Optional.empty()))).code()).isEqualTo("missing_request_uri");
        assertThat(refused(KSERVE.resolve(new ModelRequest("POST", "/v2/models/a/infer", Optional.empty(), Headers.empty(),
                Optional.empty(), List.of(), Optional.empty()))).code()).isEqualTo("missing_request_uri");
        // elsewhere the body decides without it ...
        assertThat(model(OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.empty(), Headers.empty(),
                Optional.of("application/json"), List.of(), Optional.of(Body.utf8("{\"model\":\"a\"}")))))).isEqualTo("a");
        // ... and a raw URI that is known anyway (another plugin of the route asked it) is still checked
        assertThat(refused(OPENAI.resolve(req("POST", "/v1/chat/%63ompletions", "/v1/chat/completions", "application/json",
                "{\"model\":\"a\"}"))).code()).isEqualTo("non_canonical_path");
        // a GET that is not model-free still needs a body model: no way around the list filter
        assertThat(OPENAI.resolve(new ModelRequest("GET", "/v1/models/", Optional.empty(), Headers.empty(),
                Optional.empty(), List.of(), Optional.empty()))).isInstanceOf(ModelOutcome.Refused.class);
    }
}
