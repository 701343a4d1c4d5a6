package io.inferencepam.pam.auth;

import static io.inferencepam.pam.auth.OllamaAuthTest.assertDenied;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** On Ollama routes a tag-less wildcard pattern keeps every tag, but no pattern with one * crosses a namespace or registry. */
class OllamaGlobTest {
    private TestIdp idp;
    private TestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        idp = new TestIdp();
        env = new TestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
        idp.close();
    }

    private Plugin plugin(String allow) throws Exception {
        return plugin(allow, "[]");
    }

    private Plugin plugin(String allow, String deny) throws Exception {
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],\"api\":\"ollama\",\"deny_status\":403,"
                + "\"entitlements\":[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":" + allow + ",\"deny\":" + deny + "}]}";
        return new PamAuthFactory(new PamServices(env)).create(new ObjectMapper().readTree(conf));
    }

    private RequestDecision chat(Plugin p, String model) throws Exception {
        return Calls.chat(idp.token()).path("/api/chat").body("{\"model\":\"" + model + "\",\"messages\":[]}").run(p);
    }

    @Test
    void aFamilyPatternKeepsEveryTagButStaysInItsNamespace() throws Exception {
        Plugin p = plugin("[\"llama3*\",\"jmorgan/*\"]");
        for (String ok : List.of("llama3", "llama3:8b", "LLAMA3.1:70B", "library/llama3-gradient:1m", "jmorgan/llama3:q4")) {
            assertThat(chat(p, ok)).as(ok).isInstanceOf(RequestDecision.Proceed.class);
        }
        for (String other : List.of("llama3x/evil", "llama3.evil.com/library/gpt-4o", "llama3-8b.evil.com/library/gpt-4o:latest",
                "jmorgan/x/y", "mistral")) {
            assertDenied(chat(p, other), 403, "model_not_permitted");
        }
    }

    @Test
    void starAloneIsTheDefaultNamespaceAndDoubleStarEverything() throws Exception {
        Plugin one = plugin("[\"*\"]");
        assertThat(chat(one, "mistral:7b")).isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(chat(one, "jmorgan/llama3"), 403, "model_not_permitted");
        assertDenied(chat(one, "example.com/library/llama3"), 403, "model_not_permitted");
        Plugin all = plugin("[\"**\"]");
        for (String m : List.of("mistral:7b", "jmorgan/llama3", "example.com/library/llama3")) {
            assertThat(chat(all, m)).as(m).isInstanceOf(RequestDecision.Proceed.class);
        }
    }

    @Test
    void aDenyPatternKeepsItsOldMeaningSoAnUpgradeOpensNothing() throws Exception {
        // "*70b" before this release: every model whose tag ends in 70b (the star ran on into the tag)
        Plugin p = plugin("[\"**\"]", "[\"*70b\", \"secret*\"]");
        for (String denied : List.of("llama3:70b", "qwen2:q4-70b", "jmorgan/llama3:70b", "secret", "secret:8b", "secretx/y:1",
                "registry.example.com:5000/ns/m:70b")) {
            assertDenied(chat(p, denied), 403, "model_not_permitted");
        }
        assertThat(chat(p, "llama3:8b")).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void anAllowPatternWithAStarBeforeTheEndNeverAllowsAModelItDidNotAllowBefore() throws Exception {
        // "*70b" never allowed foo70b:latest; "*70b:*" would. It stays as written and matches no
        // canonical name (they all carry a tag): a denial, documented, instead of an opening.
        Plugin p = plugin("[\"*70b\", \"llama*-chat\"]");
        for (String m : List.of("foo70b", "foo70b:latest", "foo70b:8b", "llama2-chat", "llama2-chat:7b")) {
            assertDenied(chat(p, m), 403, "model_not_permitted");
        }
        Plugin tags = plugin("[\"*:*70b\"]");
        assertThat(chat(tags, "llama3:70b")).isInstanceOf(RequestDecision.Proceed.class);
        assertDenied(chat(tags, "foo70b"), 403, "model_not_permitted");
    }

    @Test
    void registriesWithAPortKeepTheirColonAndTheirNamespace() throws Exception {
        Plugin p = plugin("[\"registry.example.com:5000/ns/llama*\", \"registry.example.com:*/team/*\"]");
        for (String ok : List.of("registry.example.com:5000/ns/llama3", "registry.example.com:5000/ns/llama3:8b",
                "REGISTRY.example.com:5000/ns/llama3.1:70b", "registry.example.com:443/team/m:1")) {
            assertThat(chat(p, ok)).as(ok).isInstanceOf(RequestDecision.Proceed.class);
        }
        for (String other : List.of("registry.example.com:5001/ns/llama3", "registry.example.com:5000/other/llama3",
                "registry.example.com:5000/ns/mistral", "registry.example.com:5000x/ns/llama3", "llama3", "registry.example.com/team/m",
                "registry.example.com:5000.evil.com/ns/llama3", "evil.com/registry.example.com:5000/ns")) {
            assertDenied(chat(p, other), 403, "model_not_permitted");
        }
    }

    @Test
    void lookAlikeSeparatorsInTheBodyDoNotStretchAStar() throws Exception {
        // JSON escapes decode to the look-alike itself; nothing normalises it before matching
        Plugin p = plugin("[\"llama3*\"]");
        for (String m : List.of("llama3\\u2215evil", "llama3\\uFF0Fevil", "llama3%2Fevil", "llama3\\uFF1A8b", "llama3\\\\evil")) {
            assertDenied(chat(p, m), 403, "model_not_permitted");
        }
    }
}
