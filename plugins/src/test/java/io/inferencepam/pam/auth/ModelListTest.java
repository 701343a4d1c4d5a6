package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Vars;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** pam-auth in post-resp: model lists keep only the models the caller is entitled to; anything it cannot read is withheld. */
class ModelListTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String OPENAI_LIST = "{\"object\":\"list\",\"data\":[{\"id\":\"llama-3-8b\",\"object\":\"model\"},"
            + "{\"id\":\"llama-3-405b\",\"object\":\"model\"},{\"id\":\"secret-model\",\"object\":\"model\"},"
            + "{\"id\":\"llama-3-8b/evil\",\"object\":\"model\"},{\"object\":\"model\"}]}";

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

    Plugin plugin(String api, String allow, String freePaths) throws Exception {
        return factory.create(M.readTree("{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],\"api\":\"" + api + "\","
                + "\"model_free_paths\":" + freePaths + ","
                + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":" + allow
                + ",\"deny\":[\"llama-3-405b\"]}]}"));
    }

    /** Runs the request phase, then the response phase of the same call (as the runtime correlates them). */
    static ResponseChange call(Plugin p, Calls c, int status, String body, String... headers) throws Exception {
        RequestDecision d = c.run(p);
        assertThat(d).isInstanceOf(RequestDecision.Proceed.class);
        CallContext ctx = new CallContext(new Attributes(), Optional.of(c.exchange),
                ConfIdentity.fromKey("route#r1#ext-plugin-post-resp#1", "00", 1), Instant.now().plusSeconds(30));
        HttpResponse r = new HttpResponse(2, status, Headers.of(headers), Vars.empty(),
                Optional.of(Body.utf8(body)));
        return p.onResponse(r, ctx).toCompletableFuture().get();
    }

    static Calls get(String token, String path) {
        Calls c = Calls.chat(token).path(path);
        c.method = "GET";
        c.body = null;
        return c;
    }

    static List<String> ids(ResponseChange ch, String member, String field) throws Exception {
        JsonNode n = M.readTree(ch.body().orElseThrow().utf8());
        List<String> out = new ArrayList<>();
        n.path(member).forEach(e -> out.add(e.path(field).asText()));
        return out;
    }

    @Test
    void openAiListKeepsOnlyEntitledModels() throws Exception {
        Plugin p = plugin("openai", "[\"llama-3-*\"]", "[\"GET /v1/models\"]");
        Calls c = get(idp.token(), "/v1/models");
        ResponseChange ch = call(p, c, 200, OPENAI_LIST, "Content-Type", "application/json");
        assertThat(ids(ch, "data", "id")).containsExactly("llama-3-8b");
        assertThat(M.readTree(ch.body().get().utf8()).path("object").asText()).isEqualTo("list");
        assertThat(c.facts().decisions()).extracting(Decision::ruleId, Decision::reason).last()
                .isEqualTo(org.assertj.core.groups.Tuple.tuple("model-list", "1 of 5 models listed"));
    }

    /** Fail closed: a model list whose request-phase state is gone (no request_id, evicted) is withheld, not passed. */
    @Test
    void aListWithoutRequestPhaseStateIsWithheld() throws Exception {
        Plugin p = plugin("openai", "[\"llama-3-*\"]", "[\"GET /v1/models\", \"GET /health\"]");
        assertThat(p.requirements(Phase.RESPONSE).vars()).contains("request_method", "uri");
        for (Optional<Attributes> exchange : List.of(Optional.<Attributes>empty(), Optional.of(new Attributes()))) {
            CallContext ctx = new CallContext(new Attributes(), exchange,
                    ConfIdentity.fromKey("route#r1#ext-plugin-post-resp#1", "00", 1), Instant.now().plusSeconds(30));
            HttpResponse list = new HttpResponse(2, 200, Headers.of("Content-Type", "application/json"),
                    Vars.of(java.util.Map.of("request_method", "GET", "uri", "/v1/models")), Optional.of(Body.utf8(OPENAI_LIST)));
            ResponseChange ch = p.onResponse(list, ctx).toCompletableFuture().get();
            assertThat(ch.status()).hasValue(502);
            assertThat(ch.body().get().utf8()).contains("model_list_unavailable").doesNotContain("secret-model");
            HttpResponse health = new HttpResponse(3, 200, Headers.of(), Vars.of(java.util.Map.of("request_method", "GET", "uri", "/health")),
                    Optional.of(Body.utf8("{\"ok\":true}")));
            assertThat(p.onResponse(health, ctx).toCompletableFuture().get().status()).as("not a model list").isEmpty();
        }
    }

    @Test
    void theRequestAsksForAnUnencodedList() throws Exception {
        Plugin p = plugin("openai", "[\"llama-3-*\"]", "[\"GET /v1/models\"]");
        RequestDecision d = get(idp.token(), "/v1/models").run(p);
        assertThat(((RequestDecision.Proceed) d).rewrite().headers()).containsEntry("accept-encoding", null);
        RequestDecision chat = Calls.chat(idp.token()).run(p);
        assertThat(((RequestDecision.Proceed) chat).rewrite().headers()).doesNotContainKey("accept-encoding");
    }

    @Test
    void ollamaTagsAreComparedInCanonicalForm() throws Exception {
        Plugin p = plugin("ollama", "[\"llama3:*\",\"qwen2\"]", "[\"GET /api/tags\"]");
        String tags = "{\"models\":[{\"name\":\"llama3:latest\",\"model\":\"llama3:latest\"},"
                + "{\"name\":\"Qwen2:latest\",\"model\":\"qwen2:latest\"},{\"name\":\"qwen2:7b\",\"model\":\"qwen2:7b\"},"
                + "{\"name\":\"llama3:latest\",\"model\":\"secret:latest\"},{\"name\":\"x@sha256:ab\"}]}";
        ResponseChange ch = call(p, get(idp.token(), "/api/tags"), 200, tags);
        assertThat(ids(ch, "models", "name")).containsExactly("llama3:latest", "Qwen2:latest");
    }

    @Test
    void whatCannotBeReadIsWithheldAndErrorsPass() throws Exception {
        Plugin p = plugin("openai", "[\"**\"]", "[\"GET /v1/models\", \"GET /health\"]");
        for (String bad : new String[] {"not json", "{\"data\":{}}", "[]", ""}) {
            ResponseChange ch = call(p, get(idp.token(), "/v1/models"), 200, bad);
            assertThat(ch.status()).as(bad).hasValue(502);
            assertThat(ch.body().get().utf8()).as(bad).contains("model_list_unavailable").doesNotContain("llama");
        }
        ResponseChange gz = call(p, get(idp.token(), "/v1/models"), 200, OPENAI_LIST, "Content-Encoding", "gzip");
        assertThat(gz.status()).hasValue(502);
        // an upstream error is not a list: passed as is
        assertThat(call(p, get(idp.token(), "/v1/models"), 500, "oops")).isEqualTo(ResponseChange.NONE);
        // other model-free paths are not touched
        assertThat(call(p, get(idp.token(), "/health"), 200, "ok")).isEqualTo(ResponseChange.NONE);
        // and neither are inference responses
        Calls chat = Calls.chat(idp.token());
        assertThat(call(p, chat, 200, "{\"choices\":[]}")).isEqualTo(ResponseChange.NONE);
    }

    @Test
    void pamAuthMayBeListedInTheResponsePhase() {
        assertThat(factory.phases()).contains(Phase.REQUEST, Phase.RESPONSE);
    }
}
