package io.inferencepam.runner.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.catalog.CanonicalPath;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * E1 (encoded and non-canonical paths on APISIX 3.18.0) against the premise of pam-guard's
 * {@code InputHygiene} and pam-auth's raw-path check: the var they ask,
 * {@link CanonicalPath#RAW_TARGET_VAR}, is exactly the target the upstream receives, while
 * {@code request_uri} is APISIX's normalised rebuild; with the recorded answers and the frame's
 * path, {@link CanonicalPath#problem} refuses every target whose reading differs from nginx's.
 */
class EncodedPathRecordingTest {

    @ParameterizedTest(name = "E1 request {0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "0 | /v1/chat/%63ompletions | /v1/chat/completions | true",
            "1 | //v1//models | /v1/models | true",
            "2 | /v1/x/../chat/completions | /v1/chat/completions | true",
            "3 | /v1%2Fchat/completions?a=%41 | /v1/chat/completions | true",
            "4 | /v1/chat/completions/ | /v1/chat/completions/ | false", // canonical; pam-guard refuses the trailing '/' itself
            "5 | /v1/chat/completions;x=1 | /v1/chat/completions;x=1 | true",
            "6 | /v1/./chat/completions | /v1/chat/completions | true",
            "7 | /v1/x/%2e%2e/chat/completions | /v1/chat/completions | true",
            "8 | /x? | /x | false",
            "9 | /v1/chat/completions%3Fa=1 | /v1/chat/completions?a=1 | true", // a decoded '?' stays in the path
    })
    void rawTargetIsWhatTheUpstreamReceives(int request, String target, String framePath, boolean refused) {
        Recording rec = Recording.all().stream().filter(r -> r.id().equals("E1")).findFirst().orElseThrow();
        assertThat(rec.clientRequest(request).target()).isEqualTo(target);
        JsonNode call = rec.frames(request).stream()
                .filter(f -> Recording.isApisixToRunner(f) && f.get("type").asInt() == 2).findFirst().orElseThrow().get("decoded");
        String upstreamTarget = rec.upstreamReceived(request).get(0).get("raw_target").asText();
        Optional<String> raw = rec.varAnswer(request, CanonicalPath.RAW_TARGET_VAR);
        Optional<String> uri = rec.varAnswer(request, "uri");

        assertThat(call.get("path").asText()).as("frame path = nginx's $uri").isEqualTo(framePath).isEqualTo(uri.orElseThrow());
        assertThat(raw).as(CanonicalPath.RAW_TARGET_VAR + " = the upstream's raw target").hasValue(upstreamTarget).hasValue(target);
        // request_uri is uri .. is_args .. args: never the raw path
        String query = target.contains("?") ? target.substring(target.indexOf('?') + 1) : "";
        assertThat(rec.varAnswer(request, "request_uri")).hasValue(framePath + (query.isEmpty() ? "" : "?" + query));
        assertThat(rec.varAnswer(request, "is_args")).hasValue(query.isEmpty() ? "" : "?");
        assertThat(rec.varAnswer(request, "args")).isEqualTo(query.isEmpty() ? Optional.empty() : Optional.of(query));
        assertThat(CanonicalPath.problem(raw.orElseThrow(), call.get("path").asText()).isPresent())
                .as("CanonicalPath refuses " + target).isEqualTo(refused);
    }

    @ParameterizedTest
    @CsvSource("10, /v1/%2e%2e/%2e%2e/admin")
    void nginxRefusesAClimbAboveTheRoot(int request, String target) {
        Recording rec = Recording.all().stream().filter(r -> r.id().equals("E1")).findFirst().orElseThrow();
        assertThat(rec.clientRequest(request).target()).isEqualTo(target);
        assertThat(rec.frames(request)).as("no runner call").isEmpty();
        assertThat(rec.upstreamReceived(request)).isEmpty();
        assertThat(rec.clientReceived(request).get("status").asInt()).isEqualTo(400);
    }
}
