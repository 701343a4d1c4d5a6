package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;

import java.util.List;

/**
 * LiteLLM's proxy: OpenAI-compatible inference (the {@link OpenAiApi} family) on the same port as
 * its management API, which mints keys and registers upstream models and credentials.
 *
 * <p>Checked against: LiteLLM docs "Configure LiteLLM with the Management API"
 * (docs.litellm.ai/docs/proxy/configuration/api, 2026-11), "Virtual Keys" and "Model Management"
 * (litellm v1.9x line). Only the management API is listed here; routes on LiteLLM use
 * {@code family: openai}.
 */
public final class LiteLlmApi {
    public static final Pack PACK = new Pack("litellm", 1,
            "LiteLLM proxy management API docs (2026-11, v1.9x)",
            List.of(
                    dangerous("keys", "/key/**", "generates, updates, regenerates, lists or deletes virtual keys "
                            + "(mints credentials)"),
                    dangerous("users", "/user/**", "creates and changes LiteLLM users and their budgets"),
                    dangerous("teams", "/team/**", "creates teams and changes their model access and limits"),
                    dangerous("organizations", "/organization/**", "LiteLLM organizations and their members"),
                    dangerous("customers", "/customer/**", "end-customer budgets"),
                    dangerous("end-users", "/end_user/**", "end-user budgets"),
                    dangerous("models", "/model/**", "registers, changes or deletes upstream models and their "
                            + "credentials, or lists them with their parameters"),
                    dangerous("config", "/config/**", "reads or rewrites the proxy configuration"),
                    dangerous("credentials", "/credentials/**", "stores and lists upstream provider credentials"),
                    dangerous("spend", "/spend/**", "spend logs, which can hold prompts and responses"),
                    dangerous("global-spend", "/global/**", "global spend and usage reports"),
                    dangerous("budgets", "/budget/**", "budget definitions"),
                    dangerous("admin-ui", "/ui/**", "the admin UI (sign-in with the master key)")));

    private LiteLlmApi() {
    }
}
