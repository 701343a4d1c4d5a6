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
 * A header <i>present</i> in a pre-req call frame of fewer than 100 entries can still lack its lines
 * past the 100th (conformance H3: a global rule read the header table, APISIX cut it at 100 lines,
 * then the rule removed a header from that cached list). By default (no operator statement) the
 * decision must be the one pam-auth takes when every line is in the frame: the same status, code and
 * message, nothing forwarded. Each request here has its second line of a header at line 113, after
 * 110 fillers, and one line of the same header within the first 100; the route's global rule reads,
 * then removes {@code X-Remove-Me} (key-auth's {@code hide_credentials}), so the frame has 99 entries.
 * Through the real runner process with a real signed token, driven as APISIX drives it.
 */
class PartialHeaderValuesE2ETest {
    static final String CHAT = "{\"model\":\"llama-3-8b\",\"messages\":[]}";
    static LocalIssuer idp;
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static RouteConf plain;
    static RouteConf removing;
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
        plain = RouteConf.builder("partial-plain").preReq(new ConfEntry("pam-auth", conf)).build();
        removing = RouteConf.builder("partial-h3").preReq(new ConfEntry("pam-auth", conf))
                .removesHeaderBeforePreReq("X-Remove-Me", true).build();
        // Readiness, not timing: the first PrepareConf or JWKS fetch may miss its deadline on a loaded host.
        for (RouteConf r : List.of(plain, removing)) {
            for (int i = 0; i < 60 && call(r, b -> { }, b -> { }).status() != 200; i++) {
                Thread.sleep(1000);
            }
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

    /** A chat call: {@code early} lines right after the token (within the first 100), 110 fillers, then {@code late}. */
    static GatewayResult call(RouteConf on, Consumer<ClientRequest.Builder> early, Consumer<ClientRequest.Builder> late) {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token).header("X-Remove-Me", "key");
        early.accept(b);
        for (int i = 0; i < 110; i++) {
            b.header("X-Filler-" + i, "v");
        }
        late.accept(b);
        if (b.build().headers().stream().noneMatch(h -> h.is("Content-Type"))) {
            b.header("Content-Type", "application/json");
        }
        return driver.call(on, b.body(CHAT).build(), upstream);
    }

    /** Both lines within the first 100: the frame has them all, whatever the runner concludes from it. */
    static GatewayResult bothInFrame(Consumer<ClientRequest.Builder> lines) {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token);
        lines.accept(b);
        if (b.build().headers().stream().noneMatch(h -> h.is("Content-Type"))) {
            b.header("Content-Type", "application/json");
        }
        return driver.call(plain, b.body(CHAT).build(), upstream);
    }

    static void sameRefusal(GatewayResult partial, GatewayResult reference, int status, String code) {
        assertThat(reference.status()).as(reference.toString()).isEqualTo(status);
        assertThat(reference.bodyUtf8()).contains("\"code\":\"" + code + "\"");
        assertThat(partial.status()).as(partial.toString()).isEqualTo(status);
        assertThat(partial.bodyUtf8()).isEqualTo(reference.bodyUtf8());
        assertThat(partial.header("www-authenticate")).isEqualTo(reference.header("www-authenticate"));
        assertThat(partial.upstreamRequests()).as("nothing forwarded").isEmpty();
    }

    @Test
    void theFrameHasNinetyNineEntriesAndLooksComplete() {
        GatewayResult control = call(removing, b -> b.header("Cookie", "theme=dark"), b -> b.header("Cookie", "lang=en"));
        assertThat(control.status()).as(control.toString()).isEqualTo(200);
        assertThat(control.upstreamRequests()).hasSize(1);
        assertThat(control.upstreamRequests().get(0).headerValues("cookie")).as("pam-auth strips every Cookie line").isEmpty();
    }

    /** RFC 6750 §3.1: a token cookie at line 113, next to a Cookie line in the frame. */
    @Test
    void aTokenCookiePastTheHundredthLineNextToACookieInTheFrameIsRefused() {
        GatewayResult partial = call(removing, b -> b.header("Cookie", "theme=dark"), b -> b.header("Cookie", "access_token=" + token));
        GatewayResult reference = bothInFrame(b -> b.header("Cookie", "theme=dark").header("Cookie", "access_token=" + token));
        sameRefusal(partial, reference, 400, "invalid_request");
        assertThat(partial.bodyUtf8()).contains("cookie").doesNotContain(token);
        assertThat(partial.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).contains("http_cookie");
    }

    /** A token cookie among the frame's own lines is proof enough: refused before the token is verified, nothing asked. */
    @Test
    void aTokenCookieInTheFrameIsStillRefusedBeforeAnyQuestion() {
        GatewayResult r = call(removing, b -> b.header("Cookie", "theme=dark; access_token=x"), b -> b.header("Cookie", "lang=en"));
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.bodyUtf8()).contains("\"code\":\"invalid_request\"");
        assertThat(r.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).isEmpty();
    }

    /**
     * A second X-Model line at line 113 naming another model: refused as when both lines are in the
     * frame ({@code $http_x_model} joins them, and "llama-3-8b, gpt-4o" is not the body's model); the
     * upstream never sees a model line nobody decided on.
     */
    @Test
    void aSecondModelHeaderPastTheHundredthLineIsRefused() {
        GatewayResult partial = call(removing, b -> b.header("X-Model", "llama-3-8b"), b -> b.header("X-Model", "gpt-4o"));
        GatewayResult reference = bothInFrame(b -> b.header("X-Model", "llama-3-8b").header("X-Model", "gpt-4o"));
        sameRefusal(partial, reference, 400, "ambiguous_model");
        GatewayResult single = call(removing, b -> b.header("X-Model", "llama-3-8b"), b -> { });
        assertThat(single.status()).as(single.toString()).isEqualTo(200);
        assertThat(single.upstreamRequests().get(0).headerValues("x-model")).containsExactly("llama-3-8b");
    }

    /** A second Content-Type line at line 113: the model server may read the body as text/plain; refused (415) as in the frame. */
    @Test
    void aSecondContentTypePastTheHundredthLineIsRefused() {
        GatewayResult partial = call(removing, b -> b.header("Content-Type", "application/json"),
                b -> b.header("Content-Type", "text/plain"));
        GatewayResult reference = bothInFrame(b -> b.header("Content-Type", "application/json").header("Content-Type", "text/plain"));
        sameRefusal(partial, reference, 415, "unsupported_media_type");
    }
}
