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
        "{\"model\":\"base\",\"lora\":[{\"id\":0,\"scale\":1.0}]}",
        "{\"model\":\"base\",\"user_config\":{\"model_list\":[{\"model_name\":\"base\",\"litellm_params\":{\"model\":\"other\"}}]}}",
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

    /** nginx joins two X-Model lines with ", ": a body model spelled as that join matched them. */
    @Test
    void aModelNameWithACommaIsRefusedWhereverItIsNamed() {
        assertThat(refused(OPENAI.resolve(chat("{\"model\":\"gpt-4o, llama-3-8b\"}"))).code()).isEqualTo("invalid_model");
        assertThat(refused(OPENAI.resolve(req("POST", "/v1/chat/completions", "/v1/chat/completions", "application/json",
                "{\"model\":\"gpt-4o, llama-3-8b\"}", "X-Model", "gpt-4o, llama-3-8b"))).code()).isEqualTo("invalid_model");
    }

    @Test
    void ollamaHasNoSuchField() {
        assertThat(model(OLLAMA.resolve(req("POST", "/api/chat", "/api/chat", "application/json", "{\"model\":\"llama3\",\"adapter_id\":\"a\"}"))))
                .isEqualTo("llama3:latest");
    }
}
