package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.PermissionDeniedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a developer sees with the official OpenAI Java SDK ({@code com.openai:openai-java}) pointed
 * at a held route through a real HTTP front of the gateway: held live then approved (a slow
 * completion), parked (an exception with a readable message and the approval id, not retried),
 * approved then repeated (the completion), replayed (an exception, not retried).
 */
class ApprovalOpenAiSdkTest {
    static ApprovalFixture fx;
    static final String ANSWER = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"secret-llm\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"The answer is 42.\",\"refusal\":null},"
            + "\"finish_reason\":\"stop\",\"logprobs\":null}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"total_tokens\":10}}";

    @BeforeAll
    static void start() throws Exception {
        fx = new ApprovalFixture(Map.of());
        fx.upstream.respondAlways(EchoUpstream.Response.of(200, List.of(new HttpHeader("Content-Type", "application/json")),
                ANSWER.getBytes(StandardCharsets.UTF_8)));
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.upstream.respondAlways(null);
            fx.close();
        }
    }

    static OpenAIClient sdk(String user) {
        return OpenAIOkHttpClient.builder().baseUrl(fx.gateway.url() + "/v1").apiKey(fx.token(user))
                .timeout(Duration.ofSeconds(50)).build(); // SDK defaults otherwise (2 retries)
    }

    static ChatCompletionCreateParams ask(String model, String question) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage(question).build();
    }

    static void route(String wait) {
        RouteConf r = fx.route("sdk-" + UUID.randomUUID(), "{\"rules\":[{\"id\":\"frontier\",\"models\":[\"secret-*\"]}],"
                + "\"reviewer_groups\":[\"reviewers\"],\"wait_seconds\":" + wait + "}");
        fx.gateway.dataRoute(r);
    }

    static double metric(String series) throws Exception {
        for (String line : fx.control("GET", "/metrics", null, null).body().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    static String pendingFor(String model) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < end) {
            for (JsonNode x : fx.approvals("rita", "GET", "", null).json().path("approvals")) {
                if (model.equals(x.path("model").asText())) {
                    return x.path("id").asText();
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending approval for " + model);
    }

    @Test
    void heldLiveThenApprovedTheSdkJustGetsASlowCompletion() throws Exception {
        route("20");
        String model = "secret-" + UUID.randomUUID().toString().substring(0, 6);
        OpenAIClient client = sdk("bob");
        long t0 = System.nanoTime();
        CompletableFuture<ChatCompletion> reply = CompletableFuture.supplyAsync(
                () -> client.chat().completions().create(ask(model, "What is the answer?")));
        String id = pendingFor(model);
        Thread.sleep(1000);
        fx.approve("rita", id);
        ChatCompletion c = reply.get(30, TimeUnit.SECONDS);
        System.out.printf("SDK, held live then approved after %d ms: completion \"%s\"%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), c.choices().get(0).message().content().orElse(""));
        assertThat(c.choices().get(0).message().content()).contains("The answer is 42.");
    }

    @Test
    void parkedThenApprovedThenReplayedAsTheSdkSeesIt() throws Exception {
        route("1");
        String model = "secret-" + UUID.randomUUID().toString().substring(0, 6);
        OpenAIClient client = sdk("bob");
        double held = metric("pam_approval_calls_total{outcome=\"held\"}");
        double joined = metric("pam_approval_calls_total{outcome=\"joined\"}");
        int upstreamBefore = fx.upstream.requests().size();

        PermissionDeniedException parked = catchThrowableOfType(
                () -> client.chat().completions().create(ask(model, "Summarise the merger file.")), PermissionDeniedException.class);
        assertThat(parked).isNotNull();
        System.out.println("SDK, parked: " + parked.getClass().getSimpleName() + ": " + parked.getMessage());
        assertThat(parked.statusCode()).isEqualTo(403);
        assertThat(parked.getMessage()).contains("needs a reviewer's approval").contains("identical request again");
        assertThat(parked.code()).contains("approval_pending");
        System.out.println("SDK, parked: e.code() = " + parked.code().orElse("") + ", e.headers() x-pam-approval-id = "
                + parked.headers().values("x-pam-approval-id"));
        String id = parked.headers().values("x-pam-approval-id").get(0);
        assertThat(id).startsWith("apr_");
        assertThat(metric("pam_approval_calls_total{outcome=\"held\"}") - held).isEqualTo(1);
        assertThat(metric("pam_approval_calls_total{outcome=\"joined\"}") - joined).as("the SDK did not retry the 403").isZero();

        fx.approve("rita", id);
        ChatCompletion c = client.chat().completions().create(ask(model, "Summarise the merger file."));
        System.out.println("SDK, identical call after approval: \"" + c.choices().get(0).message().content().orElse("") + "\"");
        assertThat(c.choices().get(0).message().content()).contains("The answer is 42.");

        double usedBefore = metric("pam_approval_calls_total{outcome=\"already_used\"}");
        OpenAIServiceException replay = catchThrowableOfType(
                () -> client.chat().completions().create(ask(model, "Summarise the merger file.")), OpenAIServiceException.class);
        System.out.println("SDK, replayed: " + replay.getClass().getSimpleName() + ": " + replay.getMessage());
        assertThat(replay.statusCode()).isEqualTo(409);
        assertThat(replay.code()).contains("approval_already_used");
        assertThat(metric("pam_approval_calls_total{outcome=\"already_used\"}") - usedBefore)
                .as("x-should-retry: false stops the SDK's retries of a 409").isEqualTo(1);
        assertThat(fx.upstream.requests().size() - upstreamBefore).as("the model ran once").isEqualTo(1);
    }
}
