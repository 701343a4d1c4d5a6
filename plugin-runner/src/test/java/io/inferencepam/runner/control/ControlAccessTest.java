package io.inferencepam.runner.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ControlApi.Request;
import io.inferencepam.runner.spi.ControlApi.Response;
import io.inferencepam.runner.spi.Headers;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ControlAccessTest {
    private static final String TOKEN = "0123456789abcdef-token";
    private final ControlAccess withToken = ControlAccess.of(Optional.of(TOKEN), "127.0.0.1");
    private final ControlAccess withoutToken = ControlAccess.of(Optional.empty(), "127.0.0.1");

    private static Request req(String method, Body body, String... headers) {
        return new Request(method, "/v1/credentials/x/rotate", Map.of(), Headers.of(headers), body);
    }

    private static int status(Optional<Response> r) {
        return r.map(Response::status).orElse(200);
    }

    @Test
    void theRightTokenFromLoopbackPasses() {
        assertThat(status(withToken.check(req("POST", Body.utf8("{}"), "host", "127.0.0.1:9181",
                "content-type", "application/json", "authorization", "Bearer " + TOKEN), false))).isEqualTo(200);
        assertThat(status(withToken.check(req("GET", Body.empty(), "host", "localhost:9181",
                "authorization", "bearer " + TOKEN), false))).isEqualTo(200);
    }

    @Test
    void aMissingOrWrongTokenIsRefused() {
        assertThat(status(withToken.check(req("GET", Body.empty(), "host", "127.0.0.1"), false))).isEqualTo(401);
        assertThat(status(withToken.check(req("GET", Body.empty(), "host", "127.0.0.1",
                "authorization", "Bearer " + TOKEN + "x"), false))).isEqualTo(401);
    }

    @Test
    void withoutAConfiguredTokenOnlyOpenEndpointsAreServed() {
        assertThat(status(withoutToken.check(req("GET", Body.empty(), "host", "127.0.0.1"), false))).isEqualTo(403);
        assertThat(status(withoutToken.check(req("GET", Body.empty(), "host", "127.0.0.1"), true))).isEqualTo(200);
    }

    @Test
    void dnsRebindingHostsAreRefusedEvenForOpenEndpoints() {
        assertThat(status(withToken.check(req("GET", Body.empty(), "host", "evil.example:9181",
                "authorization", "Bearer " + TOKEN), false))).isEqualTo(421);
        assertThat(status(withoutToken.check(req("GET", Body.empty(), "host", "evil.example"), true))).isEqualTo(421);
        assertThat(status(withoutToken.check(req("GET", Body.empty()), true))).isEqualTo(421);
        assertThat(status(withoutToken.check(req("GET", Body.empty(), "host", "[::1]:9181"), true))).isEqualTo(200);
    }

    @Test
    void crossSiteSimpleRequestsAreRefused() {
        assertThat(status(withToken.check(req("POST", Body.utf8("{\"secret\":\"junk\"}"), "host", "127.0.0.1",
                "content-type", "text/plain", "authorization", "Bearer " + TOKEN), false))).isEqualTo(415);
    }

    @Test
    void aShortTokenCountsAsNoTokenInsteadOfStoppingTheRunner() {
        ControlAccess shortToken = ControlAccess.of(Optional.of("short"), "127.0.0.1");
        assertThat(status(shortToken.check(req("GET", Body.empty(), "host", "127.0.0.1",
                "authorization", "Bearer short"), false))).isEqualTo(403);
    }

    /** Refusals have the shape of every control API error: {"error":{"message","type","code"}}. */
    @Test
    void refusalsCarryAMachineReadableCode() {
        assertThat(withToken.check(req("GET", Body.empty(), "host", "127.0.0.1"), false).orElseThrow().body().utf8())
                .isEqualTo("{\"error\":{\"message\":\"missing or wrong bearer token\",\"type\":\"authentication_error\","
                        + "\"code\":\"invalid_token\"}}");
        assertThat(withoutToken.check(req("GET", Body.empty(), "host", "evil.example"), true).orElseThrow().body().utf8())
                .contains("\"type\":\"invalid_request_error\"", "\"code\":\"host_not_served\"");
        assertThat(withoutToken.check(req("GET", Body.empty(), "host", "127.0.0.1"), false).orElseThrow().body().utf8())
                .contains("\"type\":\"permission_error\"", "\"code\":\"control_token_not_configured\"");
        assertThat(Response.error(503, "audit_store_unavailable", null).body().utf8())
                .contains("\"type\":\"api_error\"", "\"message\":\"audit_store_unavailable\"");
    }
}
