package io.inferencepam.e2e.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RFC 6750 "one method" through the real runner, driven as APISIX drives it: query args arrive
 * percent-decoded (R1), cookies through {@code http_cookie} (R11). A token in the query, or a cookie
 * named for a token in the call frame next to the header, is refused with 400 before any signature
 * work, so the route's issuer does not even need to be reachable, and the upstream never sees the
 * request. A cookie the frame lacks is asked only once the token passed. Controls on the same route show what the client gets otherwise (401 without a token,
 * 503 with one, since the issuer here publishes no keys).
 */
class OneTokenMethodE2ETest {
    static final String TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static RouteConf route;

    @BeforeAll
    static void start() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        runner = RunnerProcess.start();
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        HttpClient http = HttpClient.newHttpClient();
        URI ready = URI.create("http://127.0.0.1:" + runner.controlPort() + "/readyz");
        for (int i = 0; i < 600; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    break;
                }
            } catch (java.io.IOException notYet) {
                // the control API listens just after the socket appears
            }
            Thread.sleep(50);
        }
        String conf = "{\"issuer\":\"http://127.0.0.1:" + closedPort + "/realms/none\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"all\",\"groups\":[\"analysts\"],\"allow\":[\"**\"]}]}";
        route = RouteConf.builder("one-token-method").preReq(new ConfEntry("pam-auth", conf)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) {
            driver.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (runner != null) {
            runner.close();
        }
    }

    static GatewayResult call(String target, boolean header, Consumer<ClientRequest.Builder> more) {
        ClientRequest.Builder b = ClientRequest.builder("POST", target).header("Host", "gw.test")
                .header("Content-Type", "application/json").body("{\"model\":\"llama-3-8b\"}");
        if (header) {
            b.header("Authorization", "Bearer " + TOKEN);
        }
        more.accept(b);
        return driver.call(route, b.build(), upstream);
    }

    static void assertRefused(GatewayResult r, String messagePart) {
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.header("www-authenticate")).contains("error=\"invalid_request\"");
        assertThat(r.bodyUtf8()).contains("\"code\":\"invalid_request\"").contains(messagePart).doesNotContain(TOKEN);
        assertThat(r.upstreamRequests()).as("the upstream must not be called").isEmpty();
    }

    @Test
    void aTokenInTheQueryNeverReachesTheUpstreamHoweverItIsSpelled() {
        for (String query : List.of("access_token=" + TOKEN, "access%5Ftoken=x", "%61ccess_token=x", "ACCESS_TOKEN=x",
                "Access_Token=x", "access+token=x", "access.token=x", "access_token%5B%5D=x", "access_token",
                "access_token=", "stream=true&access_token=x&access_token=y", "id_token=" + TOKEN,
                "t=Bearer%20" + TOKEN)) {
            assertRefused(call("/v1/chat/completions?" + query, true, b -> { }), "Authorization header");
            assertRefused(call("/v1/chat/completions?" + query, false, b -> { }), "query");
        }
    }

    @Test
    void aTokenCookieNextToTheHeaderIsRefusedAndNeverReachesTheUpstream() {
        assertRefused(call("/v1/chat/completions", true, b -> b.header("Cookie", "access_token=" + TOKEN)), "cookie");
        assertRefused(call("/v1/chat/completions", true, b -> b.header("Cookie", "theme=dark").header("Cookie", "ACCESS_TOKEN=" + TOKEN)),
                "cookie");
        // a JWT in a cookie of another name (a same-origin app's session) is not refused: the call goes on to
        // verification (no keys on this runner: 503); pam-auth strips every cookie from what it forwards
        GatewayResult appSession = call("/v1/chat/completions", true, b -> b.header("Cookie", "theme=dark").header("Cookie", "KC=" + TOKEN));
        assertThat(appSession.status()).as(appSession.toString()).isEqualTo(503);
        // Past the cap the frame does not carry the cookie: it is asked only once the token passed, with the
        // body (issue 15: one round trip), so this token, which cannot be verified here, is refused for itself
        // first (503) and nothing is asked for the cookie; a valid token next to such a cookie gets the 400
        // above (TokenCookieWithValidTokenE2ETest). Either way the upstream never sees the request.
        GatewayResult pastCap = call("/v1/chat/completions", true, b -> {
            for (int i = 0; i < 110; i++) {
                b.header("X-Filler-" + i, "v");
            }
            b.header("Cookie", "Access_Token=x");
        });
        assertThat(pastCap.status()).as(pastCap.toString()).isEqualTo(503);
        assertThat(pastCap.upstreamRequests()).isEmpty();
        assertThat(pastCap.extraInfoAsked(io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL)).containsExactly("http_authorization");
    }

    @Test
    void controlsOnTheSameRoute() {
        // no carrier and no token: the usual 401; a token in the header only: verified (no keys here: 503)
        GatewayResult none = call("/v1/chat/completions?stream=true", false, b -> b.header("Cookie", "theme=dark"));
        assertThat(none.status()).as(none.toString()).isEqualTo(401);
        GatewayResult headerOnly = call("/v1/chat/completions?access_tokens=x&note=a.b.c", true, b -> b.header("Cookie", "theme=dark"));
        assertThat(headerOnly.status()).as(headerOnly.toString()).isEqualTo(503);
        assertThat(headerOnly.bodyUtf8()).contains("identity_provider_unavailable");
        // a token cookie alone is no credential: 401, not 400
        GatewayResult cookieOnly = call("/v1/chat/completions", false, b -> b.header("Cookie", "access_token=" + TOKEN));
        assertThat(cookieOnly.status()).as(cookieOnly.toString()).isEqualTo(401);
        assertThat(upstream.requests()).isEmpty();
    }

    /**
     * Issue 15: the token decision asks APISIX only for the token headers the call frame does not
     * carry (a header present in a complete frame is read from it; an absent one is asked, never
     * concluded); the raw URI and the body are asked only for a caller whose token passed, which
     * none here does (no keys: 503 before anything else is asked).
     */
    @Test
    void aCallerWithoutAUsableTokenIsDecidedBeforeTheUriAndBodyAreAsked() {
        GatewayResult none = call("/v1/chat/completions", false, b -> { });
        assertThat(none.status()).as(none.toString()).isEqualTo(401);
        assertThat(none.extraInfoAsked(io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL))
                .containsExactly("http_authorization");
        GatewayResult refusedCookie = call("/v1/chat/completions", true, b -> b.header("Cookie", "access_token=" + TOKEN));
        assertThat(refusedCookie.status()).isEqualTo(400);
        assertThat(refusedCookie.extraInfoAsked(io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL)).isEmpty();
        GatewayResult noKeys = call("/v1/chat/completions", true, b -> { });
        assertThat(noKeys.status()).as(noKeys.toString()).isEqualTo(503);
        assertThat(noKeys.extraInfoAsked(io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL)).isEmpty();
    }

    /**
     * Fail closed on a header list APISIX may have cut at 100 (R11): the Authorization header past the
     * 100th is asked as a var, never taken as missing (which would be a 401 instead of verifying it).
     */
    @Test
    void anAuthorizationHeaderPastTheHundredthIsAskedAndVerified() {
        GatewayResult late = call("/v1/chat/completions", false, b -> {
            for (int i = 0; i < 110; i++) {
                b.header("X-Filler-" + i, "v");
            }
            b.header("Authorization", "Bearer " + TOKEN);
        });
        assertThat(late.status()).as("verified (no keys here: 503), not refused as missing: " + late).isEqualTo(503);
        assertThat(late.bodyUtf8()).contains("identity_provider_unavailable");
        assertThat(late.extraInfoAsked(io.inferencepam.driver.A6Client.RPC_HTTP_REQ_CALL))
                .containsExactly("http_authorization");
        GatewayResult lateMissing = call("/v1/chat/completions", false, b -> {
            for (int i = 0; i < 110; i++) {
                b.header("X-Filler-" + i, "v");
            }
        });
        assertThat(lateMissing.status()).isEqualTo(401);
    }
}
