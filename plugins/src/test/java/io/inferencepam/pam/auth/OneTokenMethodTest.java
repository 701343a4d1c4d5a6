package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 6750 §2: a client uses one method to send its token. A token in the query (any spelling of
 * {@code access_token}, or any JWT-shaped value) is refused whether or not the header carries one,
 * so it never reaches the model server; a cookie named for a token next to the header is refused too,
 * and no cookie ever reaches the model server.
 */
class OneTokenMethodTest {
    private TestIdp idp;
    private TestEnv env;
    private Plugin plugin;

    @BeforeEach
    void setUp() throws Exception {
        idp = new TestIdp();
        env = new TestEnv();
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]}]}";
        plugin = new PamAuthFactory(new PamServices(env)).create(new ObjectMapper().readTree(conf));
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
        idp.close();
    }

    static void assertInvalidRequest(RequestDecision d, String messagePart) {
        assertThat(d).isInstanceOf(RequestDecision.Halt.class);
        var stop = ((RequestDecision.Halt) d).stop();
        assertThat(stop.status()).isEqualTo(400);
        assertThat(stop.headers().first("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("error=\"invalid_request\""));
        assertThat(stop.body().utf8()).contains("\"code\":\"invalid_request\"").contains("\"type\":\"invalid_request_error\"")
                .contains(messagePart);
    }

    private Calls withArg(String token, String name, String value) {
        Calls c = Calls.chat(token);
        c.args.add(new Header(name, value));
        return c;
    }

    private Calls withCookie(String token, String cookie) {
        Calls c = Calls.chat(token);
        c.vars.put("http_cookie", cookie);
        return c;
    }

    @Test
    void headerAndQueryTokenIs400() throws Exception {
        String t = idp.token();
        assertInvalidRequest(withArg(t, "access_token", t).run(plugin), "Authorization header");
        // another, unverifiable value: refused before any signature work, just the same
        assertInvalidRequest(withArg(t, "access_token", "x").run(plugin), "Authorization header");
    }

    @Test
    void aQueryTokenAloneNeverAuthenticates() throws Exception {
        String t = idp.token();
        RequestDecision d = withArg(null, "access_token", t).run(plugin);
        assertInvalidRequest(d, "query");
        assertThat(withArg(null, "access_token", t).facts().principal()).isEmpty();
    }

    @Test
    void spellingsOfTheNameThatSomeServerMightReadAsAccessTokenAreRefusedToo() throws Exception {
        String t = idp.token();
        // APISIX has already percent-decoded names (access%5Ftoken, access+token arrive decoded);
        // case variants: Kelvin sign and long s fold to k and s; PHP turns ". [" and spaces into "_"
        for (String name : List.of("ACCESS_TOKEN", "Access_Token", "acce\u017f\u017f_to\u212Aen", "access.token",
                "access token", "access[token", "access_token[]", "access_token[x]", " access_token", "access_token ")) {
            assertInvalidRequest(withArg(t, name, "x").run(plugin), "Authorization header");
            assertInvalidRequest(withArg(null, name, t).run(plugin), "query");
        }
        // a bare flag and an empty value still name the method
        assertInvalidRequest(withArg(t, "access_token", null).run(plugin), "Authorization header");
        assertInvalidRequest(withArg(t, "access_token", "").run(plugin), "Authorization header");
        // a token under another name is still a token in the URL
        assertInvalidRequest(withArg(t, "token", t).run(plugin), "Authorization header");
        assertInvalidRequest(withArg(t, "jwt", "Bearer " + t).run(plugin), "Authorization header");
    }

    @Test
    void ordinaryArgsPass() throws Exception {
        String t = idp.token();
        for (String name : List.of("access_tokens", "xaccess_token", "stream", "api-version")) {
            assertThat(withArg(t, name, "2024-06-01").run(plugin)).as(name).isInstanceOf(RequestDecision.Proceed.class);
        }
        assertThat(withArg(t, "note", "a.b.c").run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void headerAndTokenCookieIs400() throws Exception {
        String t = idp.token();
        assertInvalidRequest(withCookie(t, "access_token=" + t).run(plugin), "cookie");
        assertInvalidRequest(withCookie(t, "theme=dark; Access_Token=x").run(plugin), "cookie");
        assertInvalidRequest(withCookie(t, "theme=dark;access_token").run(plugin), "cookie");
        assertInvalidRequest(withCookie(t, "a=b, ACCESS_TOKEN=" + t).run(plugin), "cookie");
        assertInvalidRequest(withCookie(t, "access_token\u0000x=" + t).run(plugin), "cookie");
    }

    @Test
    void aSameOriginAppsJwtSessionCookieIsNoReasonToRefuseButNeverReachesTheModelServer() throws Exception {
        // A browser sends the cookies of the web app the gateway shares an origin with on every call;
        // many apps keep a JWT there (NextAuth, Supabase, Open WebUI's "token"). Refusing them broke
        // every browser client of such an app; instead no cookie reaches the model server, so it cannot
        // authenticate with a second credential.
        String t = idp.token();
        for (String cookie : List.of("theme=dark; KEYCLOAK_IDENTITY=" + t, "token=\"" + t + "\"", "a=b, id_token=" + t,
                "next-auth.session-token=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn")) {
            RequestDecision d = withCookie(t, cookie).run(plugin);
            assertThat(d).as(cookie).isInstanceOf(RequestDecision.Proceed.class);
            assertThat(((RequestDecision.Proceed) d).rewrite().headers()).as(cookie).containsEntry("cookie", null);
        }
        RequestDecision plain = withCookie(t, "theme=dark").run(plugin);
        assertThat(((RequestDecision.Proceed) plain).rewrite().headers()).containsEntry("cookie", null);
    }

    @Test
    void namesWithControlCharactersOrBlanksAroundThemAreStillTheTokenName() throws Exception {
        // APISIX decodes %00, %01, %7F, %C2%A0 in names; a C string stops at the NUL, Python's strip()
        // drops the no-break space
        String t = idp.token();
        for (String name : List.of("access_token\u0000", "access_token\u0000junk", "\u0001access_token", "access_token\u007f",
                "access_token\u00a0", "\u3000access_token", "access_token\u001b", "access_token\t")) {
            assertInvalidRequest(withArg(t, name, "x").run(plugin), "Authorization header");
            assertInvalidRequest(withArg(null, name, t).run(plugin), "query");
        }
    }

    @Test
    void argsAreAlsoReadAsPairsSplitAtSemicolons() throws Exception {
        // nginx sees one arg "a" = "1;access_token=x"; older Rack, Perl CGI and Python < 3.9.2 see two
        String t = idp.token();
        assertInvalidRequest(withArg(t, "a", "1;access_token=x").run(plugin), "Authorization header");
        assertInvalidRequest(withArg(t, "x;access_token", "abc").run(plugin), "Authorization header");
        assertInvalidRequest(withArg(null, "a", "1; access_token").run(plugin), "query");
        assertInvalidRequest(withArg(t, "a", "1;t=" + t).run(plugin), "Authorization header");
        // a value that merely says "access_token" is no token
        assertThat(withArg(t, "grant", "access_token").run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(withArg(t, "fields", "a,b;c").run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void ordinaryCookiesPassAndACookieAloneIsNoCredential() throws Exception {
        String t = idp.token();
        assertThat(withCookie(t, "theme=dark; session=abc.def; lang=en").run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
        RequestDecision cookieOnly = withCookie(null, "access_token=" + t).run(plugin);
        assertThat(cookieOnly).isInstanceOf(RequestDecision.Halt.class);
        assertThat(((RequestDecision.Halt) cookieOnly).stop().status()).isEqualTo(401);
    }

    /** APISIX for a call whose frame lacks the Cookie header: every fetch recorded, answered from {@code answers}. */
    private static final class RecordingApisix implements io.inferencepam.runner.spi.ExtraInfo {
        final java.util.List<String> batches = new java.util.ArrayList<>();
        final java.util.Map<String, String> answers = new java.util.HashMap<>();
        final io.inferencepam.runner.spi.Body body = io.inferencepam.runner.spi.Body.utf8("{\"model\":\"llama-3-8b\"}");

        @Override
        public java.util.concurrent.CompletionStage<Answers> fetch(java.util.Set<String> vars, boolean wantBody) {
            batches.add(String.join(",", vars) + (wantBody ? ",<body>" : ""));
            java.util.Map<String, String> present = new java.util.HashMap<>();
            vars.forEach(v -> { if (answers.containsKey(v)) { present.put(v, answers.get(v)); } });
            return java.util.concurrent.CompletableFuture.completedFuture(new Answers(present,
                    wantBody ? java.util.Optional.of(body) : java.util.Optional.empty()));
        }
    }

    private Calls unknownCookie(String token, RecordingApisix apisix) {
        Calls c = Calls.chat(token);
        c.body = null; // asked, as APISIX sends it only when asked
        c.extraInfo = apisix;
        return c;
    }

    /**
     * Issue 15: where the call does not know the cookie yet, it is asked in the one batch that also
     * brings the model vars and the body, once the token passed; a token cookie there gets the same
     * refusal as a cookie known before the token, and no principal is recorded for the call.
     */
    @Test
    void aCookieTheCallDoesNotHaveIsAskedWithTheBodyAndRefusedTheSameWay() throws Exception {
        String t = idp.token();
        RecordingApisix apisix = new RecordingApisix();
        apisix.answers.put("http_cookie", "theme=dark; Access_Token=" + t);
        Calls refused = unknownCookie(t, apisix);
        RequestDecision d = refused.run(plugin);
        assertInvalidRequest(d, "cookie");
        RequestDecision known = withCookie(t, "theme=dark; Access_Token=" + t).run(plugin);
        assertThat(((RequestDecision.Halt) d).stop()).isEqualTo(((RequestDecision.Halt) known).stop());
        assertThat(apisix.batches).containsExactly("http_cookie,http_x_model,<body>");
        assertThat(refused.facts().principal()).isEmpty();

        RecordingApisix plain = new RecordingApisix();
        plain.answers.put("http_cookie", "theme=dark");
        assertThat(unknownCookie(t, plain).run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(plain.batches).containsExactly("http_cookie,http_x_model,<body>");
    }

    /** A call refused for its token asks nothing, whatever its cookie would have said. */
    @Test
    void aCallRefusedForItsTokenAsksNothing() throws Exception {
        RecordingApisix apisix = new RecordingApisix();
        apisix.answers.put("http_cookie", "access_token=x");
        RequestDecision d = unknownCookie("not.a.jwt", apisix).run(plugin);
        assertThat(((RequestDecision.Halt) d).stop().status()).isEqualTo(401);
        assertThat(unknownCookie(null, apisix).run(plugin)).isInstanceOf(RequestDecision.Halt.class);
        assertThat(apisix.batches).isEmpty();
    }
}
