package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.catalog.UsageRequest.Problem;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UsageRequestTest {

    static Optional<Problem> chat(String body) {
        return UsageRequest.check("POST", "/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void streamedWithoutIncludeUsageIsAProblem() {
        assertThat(chat("{\"model\":\"m\",\"stream\":true,\"messages\":[]}")).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(chat("{\"stream\":true,\"stream_options\":{}}")).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(chat("{\"stream\":true,\"stream_options\":{\"include_usage\":false}}")).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(chat("{\"stream\":true,\"stream_options\":null}")).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(chat("{\"stream\":true,\"stream_options\":{\"include_usage\":\"true\"}}"))
                .as("only the literal true asks for usage").contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(chat("{\"stream\":true,\"messages\":[{\"stream_options\":{\"include_usage\":true}}]}"))
                .as("nested keys are not the request's").contains(Problem.STREAM_WITHOUT_USAGE);
    }

    @Test
    void pydanticTruthyValuesStream() {
        for (String v : new String[] {"1", "\"true\"", "\"True\"", "\"yes\"", "\"on\"", "\"1\"", "1.0", "\"t\""}) {
            assertThat(chat("{\"stream\":" + v + "}")).as(v).contains(Problem.STREAM_WITHOUT_USAGE);
        }
        for (String v : new String[] {"false", "null", "0", "\"false\"", "\"off\"", "\"0\"", "\"no\"", "0.0", "\"F\""}) {
            assertThat(chat("{\"stream\":" + v + "}")).as(v).isEmpty();
        }
    }

    @Test
    void escapedKeyNamesAreTheSameKeys() {
        assertThat(chat("{\"str\\u0065am\":true}")).contains(Problem.STREAM_WITHOUT_USAGE);
    }

    @Test
    void streamedWithIncludeUsageOrNotStreamedIsFine() {
        assertThat(chat("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}")).isEmpty();
        assertThat(chat("{\"stream_options\":{\"include_usage\":true},\"stream\":true}")).isEmpty();
        assertThat(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\\"stream\\\":true\"}]}")).isEmpty();
    }

    @Test
    void repeatedDecidingKeysAreAmbiguous() {
        assertThat(chat("{\"stream\":false,\"stream\":true}")).contains(Problem.AMBIGUOUS_KEY);
        assertThat(chat("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"stream_options\":{}}")).contains(Problem.AMBIGUOUS_KEY);
        assertThat(chat("{\"stream\":true,\"stream_options\":{\"include_usage\":true,\"include_usage\":false}}")).contains(Problem.AMBIGUOUS_KEY);
    }

    @Test
    void bodiesThatAreNotOneJsonObject() {
        assertThat(chat("")).contains(Problem.NOT_JSON);
        assertThat(chat("[1]")).contains(Problem.NOT_JSON);
        assertThat(chat("{\"stream\":true")).contains(Problem.NOT_JSON);
        assertThat(chat("{\"stream\":false} {\"stream\":true}")).contains(Problem.NOT_JSON);
        assertThat(chat("{\"stream\":false,\"temperature\":NaN}")).as("Python's json reads NaN").isEmpty();
    }

    @Test
    void onlyOpenAiCompletionsPathsAreChecked() {
        byte[] streamed = "{\"stream\":true}".getBytes(StandardCharsets.UTF_8);
        assertThat(UsageRequest.check("POST", "/v1/completions", streamed)).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(UsageRequest.check("POST", "/v1/Chat/Completions/", streamed)).contains(Problem.STREAM_WITHOUT_USAGE);
        assertThat(UsageRequest.check("POST", "/api/chat", streamed)).as("Ollama always reports").isEmpty();
        assertThat(UsageRequest.check("POST", "/v1/responses", streamed)).as("response.completed reports").isEmpty();
        assertThat(UsageRequest.check("POST", "/generate_stream", streamed)).isEmpty();
        assertThat(UsageRequest.check("GET", "/v1/chat/completions", new byte[0])).isEmpty();
    }
}
