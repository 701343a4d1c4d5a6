package io.inferencepam.pam.auth;

import static io.inferencepam.pam.auth.ModelResolverTest.*;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SGLang picks the adapter in {@code lora_path} when {@code model} names none, and TGI takes
 * {@code adapter_id}: a caller entitled to the base model ran any loaded adapter. Only the model
 * field is entitled, so a body that selects an adapter any other way is refused.
 */
class AdapterSelectorTest {
    @ParameterizedTest
    @ValueSource(strings = {
        "{\"model\":\"base\",\"lora_path\":\"someone-elses-adapter\",\"messages\":[]}",
        "{\"model\":\"base\",\"lora_path\":[\"a\",\"b\"],\"prompt\":[\"x\",\"y\"]}",
        "{\"model\":\"base\",\"LoRA-Path\":\"a\"}",
        "{\"model\":\"base\",\"adapter_id\":\"a\"}",
        "{\"model\":\"base\",\"lora_path\":\"\"}",
        "{\"model\":\"base\",\"parameters\":{\"max_new_tokens\":5,\"adapter_id\":\"a\"}}",
        "{\"parameters\":{\"details\":{\"x\":[1]},\"Adapter_Id\":\"a\"},\"model\":\"base\"}",
    })
    void aBodyThatSelectsAnAdapterOutsideTheModelFieldIsRefused(String body) {
        Rejection r = refused(OPENAI.resolve(chat(body)));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.code()).as(body).isEqualTo("model_selector_not_allowed");
        assertThat(r.message()).doesNotContain("someone-elses-adapter");
    }

    @Test
    void nullSelectorsAndLookalikesElsewhereStillResolve() {
        assertThat(model(OPENAI.resolve(chat("{\"model\":\"base\",\"lora_path\":null,\"parameters\":{\"adapter_id\":null}}")))).isEqualTo("base");
        assertThat(model(OPENAI.resolve(chat("{\"model\":\"base\",\"messages\":[{\"role\":\"user\",\"content\":\"lora_path\",\"lora_path\":1}]}"))))
                .isEqualTo("base");
        assertThat(model(OPENAI.resolve(chat("{\"model\":\"base\",\"metadata\":{\"adapter_id\":\"a\"}}")))).isEqualTo("base");
    }

    @Test
    void aDuplicateInsideParametersIsStillRefusedAsADuplicate() {
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"base\",\"parameters\":{\"n\":1,\"n\":2}}"))).code()).isEqualTo("duplicate_json_key");
    }

    @Test
    void ollamaHasNoSuchField() {
        assertThat(model(OLLAMA.resolve(req("POST", "/api/chat", "/api/chat", "application/json", "{\"model\":\"llama3\",\"adapter_id\":\"a\"}"))))
                .isEqualTo("llama3:latest");
    }
}
