package io.inferencepam.e2e.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.LocalIssuer;
import io.inferencepam.e2e.support.RunnerProcess;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RFC 6750 §3.1 with a token that passes (a real signed token from a local issuer, cached after the
 * first call): a token cookie next to the Authorization header is refused the same way whether the
 * call frame carries the Cookie header (decided before the token) or not (the cookie is then asked in
 * the batch with the model vars and the body, and the rule applied to its answer). Same status, code,
 * message and challenge; nothing forwarded. Through the real runner process, driven as APISIX drives it.
 */
class TokenCookieWithValidTokenE2ETest {
    static LocalIssuer idp;
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static RouteConf route;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        idp = new LocalIssuer();
        runner = RunnerProcess.start();
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        token = idp.token("alice", "inference", List.of("analysts"));
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]}]}";
        route = RouteConf.builder("cookie-valid-token").preReq(new ConfEntry("pam-auth", conf)).build();
        // Readiness, not timing: the first PrepareConf or JWKS fetch may miss its deadline on a loaded host.
        for (int i = 0; i < 60 && call(route, b -> { }).status() != 200; i++) {
            Thread.sleep(1000);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {driver, upstream, runner, idp}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static GatewayResult call(RouteConf on, Consumer<ClientRequest.Builder> more) {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .body("{\"model\":\"llama-3-8b\",\"messages\":[]}");
        more.accept(b);
        return driver.call(on, b.build(), upstream);
    }

    static void fillers(ClientRequest.Builder b, int n) {
        for (int i = 0; i < n; i++) {
            b.header("X-Filler-" + i, "v");
        }
    }

    @Test
    void aTokenCookieNextToAValidTokenGetsTheSameRefusalWhereverTheCookieIsRead() {
        GatewayResult control = call(route, b -> b.header("Cookie", "theme=dark"));
        assertThat(control.status()).as(control.toString()).isEqualTo(200);
        assertThat(control.upstreamRequests()).hasSize(1);

        // in the frame: decided before the token, nothing asked
        GatewayResult inFrame = call(route, b -> b.header("Cookie", "theme=dark").header("Cookie", "access_token=" + token));
        // past the 100-header cap: asked with the model vars and the body once the token passed
        GatewayResult pastCap = call(route, b -> {
            fillers(b, 110);
            b.header("Cookie", "access_token=" + token);
        });
        // a frame of 99 lines that looks complete but lacks the Cookie line a global rule's read-then-remove
        // cut (conformance H3): asked (absence is never concluded by default), refused on its answer
        RouteConf removing = RouteConf.builder("cookie-valid-token-h3").preReq(route.preReq().toArray(new ConfEntry[0]))
                .removesHeaderBeforePreReq("X-Remove-Me", true).build();
        GatewayResult hidden = call(removing, b -> {
            b.header("X-Remove-Me", "1");
            fillers(b, 110);
            b.header("Cookie", "theme=dark; ACCESS_TOKEN=" + token);
        });

        for (GatewayResult r : List.of(inFrame, pastCap, hidden)) {
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.header("www-authenticate")).isEqualTo("Bearer realm=\"inference-pam\", error=\"invalid_request\"");
            assertThat(r.bodyUtf8()).isEqualTo(inFrame.bodyUtf8()).contains("\"code\":\"invalid_request\"").contains("cookie")
                    .doesNotContain(token);
            assertThat(r.upstreamRequests()).as("nothing forwarded").isEmpty();
        }
        assertThat(inFrame.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).isEmpty();
        assertThat(hidden.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).contains("http_cookie");
    }
}
