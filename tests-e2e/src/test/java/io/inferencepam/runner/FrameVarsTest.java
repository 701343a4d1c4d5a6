package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Header vars taken from the call frame instead of asked (one ExtraInfo round trip each), and only
 * when that is safe: the frame's header list is complete (fewer than APISIX's 100 entries, R11),
 * the conf is {@code ext-plugin-pre-req}, and (by default, without the operator's statement) the
 * header is one nginx accepts once (Authorization): any other header may have lines past the 100th
 * that a read-then-remove before pre-req left out of a short list (H3). The reference is APISIX itself, as the driver
 * answers: the same vars on an {@code ext-plugin-post-req} route are always asked, so a plugin
 * must see exactly the same values on both routes, for any header list.
 */
class FrameVarsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> VARS = List.of("http_authorization", "http_x_model", "http_cookie", "http_x_multi",
            "http_absent", "http_host", "remote_addr", "request_uri");
    static final String INSPECT = "{\"vars\":" + jsonArray(VARS) + "}";
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;
    static final RouteConf PRE = RouteConf.builder("frame-vars-pre").preReq(new ConfEntry("test-inspect", INSPECT)).build();
    static final RouteConf POST_REQ = RouteConf.builder("frame-vars-post").postReq(new ConfEntry("test-inspect", INSPECT)).build();

    @BeforeAll
    @BeforeContainer
    static void start() throws Exception {
        if (runner == null) {
            runner = RunnerProcess.start();
            upstream = EchoUpstream.start();
            driver = new ApisixDriver(runner.socket());
        }
    }

    @AfterAll
    @AfterContainer
    static void stop() throws Exception {
        if (runner != null) {
            driver.close();
            upstream.close();
            runner.close();
            runner = null;
        }
    }

    static String jsonArray(List<String> names) {
        StringBuilder b = new StringBuilder("[");
        for (String n : names) {
            b.append(b.length() == 1 ? "" : ",").append('"').append(n).append('"');
        }
        return b.append(']').toString();
    }

    static JsonNode seenVars(GatewayResult r) throws Exception {
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return JSON.readTree(r.body()).get("vars");
    }

    static ClientRequest request(List<HttpHeader> headers) {
        ClientRequest.Builder b = ClientRequest.builder("GET", "/v1/models?x=1").remoteAddr("10.1.2.3");
        for (HttpHeader h : headers) {
            b.header(h.name(), h.value());
        }
        return b.build();
    }

    @Test
    void aCompleteHeaderListAnswersAuthorizationWithoutAQuestion() throws Exception {
        ClientRequest req = request(List.of(new HttpHeader("Host", "gw.test"), new HttpHeader("Authorization", "Bearer t"),
                new HttpHeader("X_Model", "m-underscore"), new HttpHeader("x-model", "m2"), new HttpHeader("Cookie", "a=1"),
                new HttpHeader("cookie", "b=2"), new HttpHeader("X-Multi", ""), new HttpHeader("X-MULTI", "two")));
        GatewayResult pre = driver.call(PRE, req, upstream);
        GatewayResult asked = driver.call(POST_REQ, req, upstream);
        assertThat(seenVars(pre)).isEqualTo(seenVars(asked));
        assertThat(seenVars(pre).get("http_x_model").asText()).isEqualTo("m-underscore, m2");
        assertThat(seenVars(pre).get("http_cookie").asText()).isEqualTo("a=1; b=2");
        assertThat(seenVars(pre).has("http_absent")).isFalse();
        // http_host (the frame carries $upstream_host), request_uri (raw, not in the frame), a header the
        // frame lacks (its absence is never concluded from the frame) and a present header that may repeat
        // (its lines past the 100th may be missing from a short frame) are still asked
        assertThat(pre.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).containsExactly("http_x_model", "http_cookie", "http_x_multi",
                "http_absent", "http_host", "request_uri");
        assertThat(asked.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).hasSize(VARS.size());
    }

    /** 96 client headers + Host + APISIX's 3 x-forwarded-* = exactly 100 entries: may be cut, so every var is asked. */
    @Test
    void aListOfExactlyOneHundredEntriesMayBeCutAndEveryHeaderVarIsAsked() throws Exception {
        List<HttpHeader> headers = new ArrayList<>(List.of(new HttpHeader("Host", "gw.test"), new HttpHeader("Authorization", "Bearer t")));
        for (int i = 0; i < 95; i++) {
            headers.add(new HttpHeader(String.format("X-H-%03d", i), "v"));
        }
        GatewayResult pre = driver.call(PRE, request(headers), upstream);
        assertThat(JSON.readTree(pre.body()).get("headers")).hasSize(100);
        // every var but remote_addr (from the frame's 4-byte src_ip, whatever the header count)
        assertThat(pre.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).hasSize(VARS.size() - 1).doesNotContain("remote_addr");
        assertThat(seenVars(pre)).isEqualTo(seenVars(driver.call(POST_REQ, request(headers), upstream)));
    }

    /** Authorization and X-Model past the 100th header: absent from the frame, present as vars. */
    @Test
    void securityHeadersPastTheHundredthAreAskedNeverTakenAsMissing() throws Exception {
        List<HttpHeader> headers = new ArrayList<>(List.of(new HttpHeader("Host", "gw.test")));
        for (int i = 0; i < 110; i++) {
            headers.add(new HttpHeader(String.format("X-H-%03d", i), "v"));
        }
        headers.add(new HttpHeader("Authorization", "Bearer late"));
        headers.add(new HttpHeader("X-Model", "late-model"));
        GatewayResult pre = driver.call(PRE, request(headers), upstream);
        JsonNode seen = JSON.readTree(pre.body());
        assertThat(seen.get("headers").toString()).doesNotContain("authorization").doesNotContain("x-model");
        assertThat(seen.get("vars").get("http_authorization").asText()).isEqualTo("Bearer late");
        assertThat(seen.get("vars").get("http_x_model").asText()).isEqualTo("late-model");
        assertThat(pre.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).contains("http_authorization", "http_x_model", "http_cookie");
    }

    /**
     * Asked while the chain runs ({@code CallContext.fetch}), in one batch, only what the call does
     * not have yet: the second plugin's identical questions cost nothing, and {@code remote_addr}
     * comes from the frame.
     */
    @Test
    void laterQuestionsAreAskedOncePerCallAndSharedByItsPlugins() throws Exception {
        RouteConf route = RouteConf.builder("frame-vars-later").preReq(
                new ConfEntry("test-inspect", "{\"later_vars\":[\"request_uri\",\"http_x_a\"],\"later_body\":true,\"proceed\":true}"),
                new ConfEntry("test-inspect-2", "{\"later_vars\":[\"request_uri\",\"http_x_a\",\"remote_addr\"],\"later_body\":true}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/v1/chat/completions?a=%41").header("X-A", "1")
                .body("{\"model\":\"m\"}").remoteAddr("10.1.2.3").build(), upstream);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.get("vars").get("request_uri").asText()).isEqualTo("/v1/chat/completions?a=%41");
        assertThat(seen.get("vars").get("http_x_a").asText()).isEqualTo("1");
        assertThat(seen.get("vars").get("remote_addr").asText()).isEqualTo("10.1.2.3");
        assertThat(seen.get("body_base64").asText()).isEqualTo(java.util.Base64.getEncoder().encodeToString("{\"model\":\"m\"}".getBytes()));
        assertThat(r.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).containsExactly("request_uri", "http_x_a", "<body>");
    }

    @Test
    void whatWasDeclaredIsNotAskedAgainLater() throws Exception {
        RouteConf route = RouteConf.builder("frame-vars-declared").preReq(new ConfEntry("test-inspect",
                "{\"vars\":[\"request_uri\",\"no_such_var\"],\"request_body\":true,\"later_vars\":[\"request_uri\",\"no_such_var\"],\"later_body\":true}"))
                .build();
        GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/x").body("b").build(), upstream);
        assertThat(JSON.readTree(r.body()).get("vars").has("no_such_var")).isFalse();
        assertThat(r.extraInfoAsked(A6Client.RPC_HTTP_REQ_CALL)).containsExactly("request_uri", "no_such_var", "<body>");
    }

    /** For any header list, around the cap too: a plugin sees what APISIX would have answered. */
    @Property(tries = 150)
    void derivedVarsEqualApisixAnswers(@ForAll("headerLists") List<HttpHeader> headers) throws Exception {
        ClientRequest req = request(headers);
        GatewayResult pre = driver.call(PRE, req, upstream);
        assertThat(seenVars(pre)).isEqualTo(seenVars(driver.call(POST_REQ, req, upstream)));
        int entries = JSON.readTree(pre.body()).get("headers").size();
        int asked = pre.extraInfoQuestions(A6Client.RPC_HTTP_REQ_CALL);
        JsonNode seen = seenVars(pre);
        // http_host and request_uri always; every other header var but an Authorization the frame carries
        long headerVars = VARS.stream().filter(v -> v.startsWith("http_") && !v.equals("http_host")).count();
        int fromFrame = seen.has("http_authorization") ? 1 : 0;
        assertThat(asked).isEqualTo(entries < 100 ? 2 + (int) headerVars - fromFrame : VARS.size() - 1);
    }

    static final RouteConf PRE_H3 = RouteConf.builder("frame-vars-pre-h3").preReq(new ConfEntry("test-inspect", INSPECT))
            .removesHeaderBeforePreReq("X-Remove-Me", true).build();
    static final RouteConf POST_REQ_H3 = RouteConf.builder("frame-vars-post-h3").postReq(new ConfEntry("test-inspect", INSPECT))
            .removesHeaderBeforePreReq("X-Remove-Me", true).build();

    /**
     * A global rule reads the headers, then removes {@code X-Remove-Me} (conformance H3): the frame can
     * be a short remainder of a list cut at 100, lacking lines past the 100th of headers it carries.
     * Whatever lines land before and after the cut, a plugin sees what APISIX would have answered.
     */
    @Property(tries = 100)
    void afterAReadThenRemoveAPluginStillSeesApisixAnswers(@ForAll("cutAcross") List<HttpHeader> headers) throws Exception {
        ClientRequest req = request(headers);
        assertThat(seenVars(driver.call(PRE_H3, req, upstream))).isEqualTo(seenVars(driver.call(POST_REQ_H3, req, upstream)));
    }

    /**
     * Lines of the vars' headers both within the first 100 and past them, with the removed header among
     * the first. At most one Authorization line, before or after the cut: nginx answers a second one 400
     * before any phase (conformance N1), which the driver does not model.
     */
    @Provide
    Arbitrary<List<HttpHeader>> cutAcross() {
        Arbitrary<String> names = Arbitraries.of("X-Model", "x_model", "Cookie", "X-Multi", "X-Absent-Not");
        Arbitrary<String> values = Arbitraries.strings().withChars("abc =;,-").ofMaxLength(6);
        Arbitrary<HttpHeader> header = Combinators.combine(names, values).as(HttpHeader::new);
        Arbitrary<HttpHeader> filler = Arbitraries.integers().between(0, 999).map(i -> new HttpHeader("X-F-" + i, "f"));
        return Combinators.combine(header.list().ofMaxSize(4), Arbitraries.integers().between(1, 5), filler.list().ofMinSize(85).ofMaxSize(105),
                header.list().ofMinSize(1).ofMaxSize(4), Arbitraries.integers().between(0, 2)).as((early, removed, fill, late, auth) -> {
                    List<HttpHeader> out = new ArrayList<>(List.of(new HttpHeader("Host", "gw.test")));
                    for (int i = 0; i < removed; i++) {
                        out.add(new HttpHeader("X-Remove-Me", "k" + i));
                    }
                    if (auth == 1) {
                        out.add(new HttpHeader("Authorization", "Bearer early"));
                    }
                    out.addAll(early);
                    out.addAll(fill);
                    out.addAll(late);
                    if (auth == 2) {
                        out.add(new HttpHeader("Authorization", "Bearer late"));
                    }
                    return out;
                });
    }

    @Provide
    Arbitrary<List<HttpHeader>> headerLists() {
        Arbitrary<String> names = Arbitraries.of("Authorization", "authorization", "X-Model", "x_model", "X-MODEL", "Cookie",
                "X-Multi", "x-multi", "X-Other", "X-Absent-Not", "Content-Type", "Host");
        Arbitrary<String> values = Arbitraries.strings().withChars("abc =;,-").ofMaxLength(6);
        Arbitrary<HttpHeader> header = Combinators.combine(names, values).as(HttpHeader::new);
        Arbitrary<HttpHeader> filler = Arbitraries.integers().between(0, 999).map(i -> new HttpHeader("X-F-" + i, "f"));
        return Combinators.combine(header.list().ofMaxSize(12), filler.list().ofMinSize(0).ofMaxSize(110), Arbitraries.integers().between(0, 2))
                .as((chosen, fill, mode) -> {
                    List<HttpHeader> out = new ArrayList<>();
                    if (mode == 0) { // chosen headers first: within the cap unless the list is long
                        out.addAll(chosen);
                        out.addAll(fill);
                    } else if (mode == 1) { // chosen headers last: past the cap once the fillers reach it
                        out.addAll(fill);
                        out.addAll(chosen);
                    } else {
                        out.addAll(chosen); // short lists, all in the frame
                    }
                    return out;
                });
    }
}
