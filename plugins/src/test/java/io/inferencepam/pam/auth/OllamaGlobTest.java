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
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],\"api\":\"ollama\",\"deny_status\":403,"
                + "\"entitlements\":[{\"id\":\"a\",\"groups\":[\"analysts\"],\"allow\":" + allow + "}]}";
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
}
