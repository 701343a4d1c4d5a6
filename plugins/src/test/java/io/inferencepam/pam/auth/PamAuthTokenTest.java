package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** pam-auth against a real local issuer (HTTP discovery + JWKS): valid and adversarial tokens. */
class PamAuthTokenTest {
    private TestIdp idp;
    private TestEnv env;
    private MutableClock clock;
    private PamAuthFactory factory;

    @BeforeEach
    void setUp() throws Exception {
        idp = new TestIdp();
        env = new TestEnv();
        clock = new MutableClock();
        env.clock = clock;
        factory = new PamAuthFactory(new PamServices(env));
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
        idp.close();
    }

    Plugin plugin(String extra) throws Exception {
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]}]"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
        return factory.create(new ObjectMapper().readTree(conf));
    }

    static RequestDecision.Halt halted(RequestDecision d) {
        assertThat(d).isInstanceOf(RequestDecision.Halt.class);
        return (RequestDecision.Halt) d;
    }

    static void assertInvalidToken(RequestDecision d) {
        RequestDecision.Halt h = halted(d);
        assertThat(h.stop().status()).isEqualTo(401);
        assertThat(h.stop().headers().first("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("error=\"invalid_token\""));
        assertThat(h.stop().body().utf8()).contains("\"code\":\"invalid_token\"").contains("\"type\":\"invalid_request_error\"");
    }

    @Test
    void validRs256TokenProceedsRemovesClientAuthorizationAndRecordsFacts() throws Exception {
        Calls call = Calls.chat(idp.token());
        RequestDecision d = call.run(plugin(""));
        assertThat(d).isInstanceOf(RequestDecision.Proceed.class);
        var rw = ((RequestDecision.Proceed) d).rewrite();
        assertThat(rw.headers()).containsEntry("authorization", null);
        assertThat(rw.headers()).containsEntry("proxy-authorization", null);
        assertThat(rw.headers()).containsEntry("api-key", null).containsEntry("x-api-key", null);
        CallFacts f = call.facts();
        assertThat(f.principal()).hasValueSatisfying(p -> {
            assertThat(p.subject()).isEqualTo("user-1");
            assertThat(p.username()).isEqualTo("alice");
            assertThat(p.groups()).containsExactly("analysts");
            assertThat(p.clientId()).isEqualTo("cli");
        });
        assertThat(f.model()).hasValue("llama-3-8b");
        assertThat(f.decisions()).extracting(Decision::ruleId).contains("analysts");
    }

    /**
     * A token-cache miss (parse, RSA/EC check, JWKS fetch) is handed to the plugin threads, never
     * verified on the thread that called pam-auth (so its hook could run on the event loop). Here the plugin threads are a queue the test runs by hand, on a thread
     * of its own: the miss's decision stays pending until that thread has verified it; the hit that
     * follows is decided at once, on the calling thread, handing nothing off.
     */
    @Test
    void aCacheMissIsVerifiedOnThePluginThreadsNeverOnTheCallingThreadAndAHitIsDecidedInline() throws Exception {
        java.util.concurrent.LinkedBlockingQueue<Runnable> handedOff = new java.util.concurrent.LinkedBlockingQueue<>();
        env.pluginExecutor = handedOff::add;
        Plugin p = plugin("");
        String token = idp.token();
        java.util.concurrent.CompletableFuture<RequestDecision> miss = Calls.chat(token).start(p).toCompletableFuture();
        assertThat(miss).as("nothing verified on the calling thread").isNotDone();
        List<String> verifiedOn = new java.util.concurrent.CopyOnWriteArrayList<>();
        while (!miss.isDone()) { // the first miss may also wait for the JWKS (blocking executor), then come back here
            Runnable task = handedOff.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(task).as("the miss was handed to the plugin threads").isNotNull();
            Thread plugin = new Thread(() -> {
                task.run();
                verifiedOn.add(Thread.currentThread().getName());
            }, "pam-plugin-test");
            plugin.start();
            plugin.join();
            Thread.sleep(1); // an answer completed on the plugin thread needs no more: isDone is checked again
        }
        assertThat(verifiedOn).isNotEmpty().allSatisfy(t -> assertThat(t).isEqualTo("pam-plugin-test"));
        assertThat(miss.get()).isInstanceOf(RequestDecision.Proceed.class);

        java.util.concurrent.CompletableFuture<RequestDecision> hit = Calls.chat(token).start(p).toCompletableFuture();
        assertThat(hit).as("a cached token is decided at once, inline").isDone();
        assertThat(hit.get()).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(handedOff).isEmpty();
        // Declared for the request hook (docs/plugin-runner.md): a hit is decided where it is called.
        assertThat(p.inlineSafe(io.inferencepam.runner.spi.Phase.REQUEST)).isTrue();
        assertThat(p.inlineSafe(io.inferencepam.runner.spi.Phase.RESPONSE)).isFalse();
    }

    /**
     * A flood of new tokens with the plugin threads full: each is refused at once with a 503 of its
     * own, as a decision (counted, not logged), instead of a failed stage the runtime logs per call,
     * possibly on the event loop where the hook then runs.
     */
    @Test
    void aMissThePluginThreadsRefuseIsA503DecisionNotAFailure() throws Exception {
        env.pluginExecutor = task -> {
            throw new java.util.concurrent.RejectedExecutionException("queue full");
        };
        Plugin p = plugin("");
        java.util.concurrent.CompletableFuture<RequestDecision> d = Calls.chat(idp.token()).start(p).toCompletableFuture();
        assertThat(d).isDone();
        assertThat(d.get()).isInstanceOf(RequestDecision.Halt.class);
        var stop = ((RequestDecision.Halt) d.get()).stop();
        assertThat(stop.status()).isEqualTo(503);
        assertThat(stop.body().utf8()).contains("\"code\":\"gateway_overloaded\"");
    }

    @Test
    void validEs256AndPs256AndEdDsaTokensAreAccepted() throws Exception {
        KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        byte[] enc = ed.getPublic().getEncoded();
        idp.published.add(new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(Arrays.copyOfRange(enc, enc.length - 32, enc.length)))
                .keyID("ed-1").build());
        assertThat(Calls.chat(idp.es256(idp.claims().build())).run(plugin(""))).isInstanceOf(RequestDecision.Proceed.class);
        String ps = TestIdp.sign(new RSASSASigner(idp.rsa), JWSAlgorithm.PS256, "rsa-1", idp.claims().build());
        assertThat(Calls.chat(ps).run(plugin(""))).isInstanceOf(RequestDecision.Proceed.class);

        String header = Base64URL.encode("{\"alg\":\"EdDSA\",\"kid\":\"ed-1\"}").toString();
        String payload = Base64URL.encode(idp.claims().build().toString()).toString();
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(ed.getPrivate());
        s.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
        String edToken = header + "." + payload + "." + Base64URL.encode(s.sign());
        assertThat(Calls.chat(edToken).run(plugin(""))).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void routeAlgorithmListIsEnforced() throws Exception {
        assertInvalidToken(Calls.chat(idp.es256(idp.claims().build())).run(plugin("\"allowed_algs\":[\"RS256\"]")));
    }

    @Test
    void missingOrNonBearerTokenIs401() throws Exception {
        assertInvalidToken(Calls.chat(null).run(plugin("")));
        Calls basic = Calls.chat(null);
        basic.vars.put("http_authorization", "Basic dXNlcjpwYXNz");
        assertInvalidToken(basic.run(plugin("")));
        Calls two = Calls.chat(null);
        two.vars.put("http_authorization", "Bearer " + idp.token() + ", Bearer " + idp.token()); // nginx joins repeated headers
        assertInvalidToken(two.run(plugin("")));
    }

    @Test
    void algNoneIsRefused() throws Exception {
        String header = Base64URL.encode("{\"alg\":\"none\",\"kid\":\"rsa-1\"}").toString();
        String payload = Base64URL.encode(idp.claims().build().toString()).toString();
        assertInvalidToken(Calls.chat(header + "." + payload + ".").run(plugin("")));
        assertInvalidToken(Calls.chat(header + "." + payload).run(plugin("")));
    }

    @Test
    void hs256SignedWithTheRsaPublicKeyIsRefused() throws Exception {
        byte[] publicKeyBytes = idp.rsa.toRSAPublicKey().getEncoded();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(), idp.claims().build());
        jwt.sign(new MACSigner(publicKeyBytes));
        assertInvalidToken(Calls.chat(jwt.serialize()).run(plugin("")));
        byte[] jwkBytes = idp.rsa.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
        SignedJWT jwt2 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("rsa-1").build(), idp.claims().build());
        jwt2.sign(new MACSigner(jwkBytes));
        assertInvalidToken(Calls.chat(jwt2.serialize()).run(plugin("")));
    }

    @Test
    void expiredNotYetValidWrongIssuerWrongAudienceAreRefused() throws Exception {
        Plugin p = plugin("\"clock_skew_seconds\":30");
        Instant now = Instant.now();
        assertInvalidToken(Calls.chat(idp.token(b -> b.expirationTime(Date.from(now.minusSeconds(60))))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.notBeforeTime(Date.from(now.plusSeconds(120))))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.issuer(idp.issuer + "x"))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.issuer(idp.issuer + "/"))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.audience("other-service"))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.audience(List.of()))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.expirationTime(null))).run(p));
        // within the skew: accepted
        assertThat(Calls.chat(idp.token(b -> b.expirationTime(Date.from(now.minusSeconds(10))))).run(p))
                .isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void cachedTokenIsRefusedOnceItExpires() throws Exception {
        Plugin p = plugin("\"clock_skew_seconds\":0");
        String t = idp.token(b -> b.expirationTime(Date.from(clock.instant().plusSeconds(60))));
        assertThat(Calls.chat(t).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(Calls.chat(t).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        clock.advance(Duration.ofSeconds(61));
        assertInvalidToken(Calls.chat(t).run(p));
    }

    @Test
    void cachedTokenStillMeetsEachRoutesOwnPolicy() throws Exception {
        String t = idp.token();
        assertThat(Calls.chat(t).run(plugin(""))).isInstanceOf(RequestDecision.Proceed.class);
        // same token, verified and cached, on a route for another audience
        assertInvalidToken(Calls.chat(t).run(factory.create(new ObjectMapper().readTree(
                "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"billing\"]}"))));
    }

    @Test
    void requiredScopesGive403InsufficientScope() throws Exception {
        Plugin p = plugin("\"required_scopes\":[\"inference\"]");
        RequestDecision.Halt h = halted(Calls.chat(idp.token(b -> b.claim("scope", "openid profile"))).run(p));
        assertThat(h.stop().status()).isEqualTo(403);
        assertThat(h.stop().headers().first("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("insufficient_scope"));
        assertThat(Calls.chat(idp.token(b -> b.claim("scope", "openid inference"))).run(p)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void unknownKidRefreshesAtMostOncePerInterval() throws Exception {
        Plugin p = plugin("\"jwks_min_refresh_seconds\":60");
        assertThat(Calls.chat(idp.token()).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        int before = idp.jwksHits.get();
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("forged").generate();
        for (int i = 0; i < 20; i++) {
            String forged = TestIdp.sign(new RSASSASigner(stranger), JWSAlgorithm.RS256, "forged-" + i, idp.claims().build());
            assertInvalidToken(Calls.chat(forged).run(p));
        }
        assertThat(idp.jwksHits.get() - before).isLessThanOrEqualTo(1);
    }

    @Test
    void hostileKidsAreJustUnknownKeys() throws Exception {
        Plugin p = plugin("");
        for (String kid : List.of("../../../../etc/passwd", "1' OR '1'='1", "rsa-1\u0000", "%2e%2e%2f", "x".repeat(300), "")) {
            String t = TestIdp.sign(new RSASSASigner(idp.rsa), JWSAlgorithm.RS256, kid, idp.claims().build());
            assertInvalidToken(Calls.chat(t).run(p));
        }
    }

    @Test
    void tamperedTruncatedGarbageAndOversizeTokensAreRefused() throws Exception {
        Plugin p = plugin("");
        String good = idp.token();
        String[] parts = good.split("\\.");
        String otherPayload = Base64URL.encode(idp.claims().subject("admin").claim("groups", List.of("admins")).build().toString()).toString();
        assertInvalidToken(Calls.chat(parts[0] + "." + otherPayload + "." + parts[2]).run(p));
        char last = parts[2].charAt(10);
        String flipped = parts[2].substring(0, 10) + (last == 'A' ? 'B' : 'A') + parts[2].substring(11);
        assertInvalidToken(Calls.chat(parts[0] + "." + parts[1] + "." + flipped).run(p));
        assertInvalidToken(Calls.chat(good.substring(0, good.length() - 20)).run(p));
        assertInvalidToken(Calls.chat(parts[0] + "." + parts[1]).run(p));
        for (String garbage : List.of("abc.def.ghi", "!!!.***.###", "a", "....", "eyJ.eyJ.eyJ", "\u00e9\u00e9.x.y")) {
            assertInvalidToken(Calls.chat(garbage).run(p));
        }
        String huge = idp.token(b -> b.claim("pad", "x".repeat(20_000)));
        assertInvalidToken(Calls.chat(huge).run(p));
    }

    @Test
    void validTokenFromAnotherRealmIsRefused() throws Exception {
        try (TestIdp other = new TestIdp("-other")) {
            // same kid names, different keys and issuer
            assertInvalidToken(Calls.chat(other.token()).run(plugin("")));
            // even if it claims our issuer, its signature does not verify with our keys
            assertInvalidToken(Calls.chat(other.token(b -> b.issuer(idp.issuer))).run(plugin("")));
        }
    }

    @Test
    void noKeysAtAllIs503NotA401() throws Exception {
        idp.down = true;
        RequestDecision.Halt h = halted(Calls.chat(idp.token()).run(plugin("")));
        assertThat(h.stop().status()).isEqualTo(503);
        assertThat(h.stop().body().utf8()).contains("identity_provider_unavailable");
    }

    @Test
    void idpOutageKeepsTheLastGoodKeys() throws Exception {
        Plugin p = plugin("\"jwks_min_refresh_seconds\":1");
        assertThat(Calls.chat(idp.token()).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        idp.down = true;
        Thread.sleep(1100);
        // forces a (failing) refresh through an unknown kid
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("x").generate();
        assertInvalidToken(Calls.chat(TestIdp.sign(new RSASSASigner(stranger), JWSAlgorithm.RS256, "x", idp.claims().build())).run(p));
        assertThat(Calls.chat(idp.token(b -> b.subject("user-2"))).run(p)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void anEmptyJwksDoesNotReplaceTheLastGoodKeys() throws Exception {
        Plugin p = plugin("\"jwks_min_refresh_seconds\":1");
        assertThat(Calls.chat(idp.token()).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        idp.published.clear();
        Thread.sleep(1100);
        RSAKey stranger = new RSAKeyGenerator(2048).keyID("y").generate();
        assertInvalidToken(Calls.chat(TestIdp.sign(new RSASSASigner(stranger), JWSAlgorithm.RS256, "y", idp.claims().build())).run(p));
        assertThat(Calls.chat(idp.token(b -> b.subject("user-3"))).run(p)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void principalFromConfiguredClaimPaths() throws Exception {
        Plugin p = plugin("\"groups_claims\":[\"realm_access.roles\"],\"username_claim\":\"email\","
                + "\"entitlements\":[{\"id\":\"svc\",\"clients\":[\"agent-7\"],\"allow\":[\"*\"]}]".substring(0, 0)
                + "\"client_claims\":[\"client_id\"]");
        Calls c = Calls.chat(idp.token(b -> b.claim("realm_access", java.util.Map.of("roles", List.of("analysts", "x")))
                .claim("email", "a@example.com").claim("client_id", "agent-7").claim("groups", List.of("ignored"))));
        assertThat(c.run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(c.facts().principal()).hasValueSatisfying(pr -> {
            assertThat(pr.groups()).containsExactly("analysts", "x");
            assertThat(pr.username()).isEqualTo("a@example.com");
            assertThat(pr.clientId()).isEqualTo("agent-7");
        });
    }

    static String signRaw(com.nimbusds.jose.JWSSigner signer, JWSHeader header, String payloadJson) throws Exception {
        com.nimbusds.jose.JWSObject o = new com.nimbusds.jose.JWSObject(header, new com.nimbusds.jose.Payload(payloadJson));
        o.sign(signer);
        return o.serialize();
    }

    @Test
    void validlySignedButAmbiguousOrOddClaimsAreRefused() throws Exception {
        Plugin p = plugin("");
        long exp = Instant.now().getEpochSecond() + 300;
        String base = "\"iss\":\"" + idp.issuer + "\",\"aud\":\"inference\",\"exp\":" + exp + ",\"groups\":[\"analysts\"]";
        JWSHeader h = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build();
        RSASSASigner signer = new RSASSASigner(idp.rsa);
        // sanity: the same shape without tricks is accepted
        assertThat(Calls.chat(signRaw(signer, h, "{" + base + ",\"sub\":\"u\"}")).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        // duplicate claim: which "sub" would another library pick?
        assertInvalidToken(Calls.chat(signRaw(signer, h, "{" + base + ",\"sub\":\"u\",\"sub\":\"admin\"}")).run(p));
        // exp as a string, missing sub
        assertInvalidToken(Calls.chat(signRaw(signer, h, "{\"iss\":\"" + idp.issuer + "\",\"aud\":\"inference\",\"exp\":\"" + exp + "\",\"sub\":\"u\"}")).run(p));
        assertInvalidToken(Calls.chat(signRaw(signer, h, "{" + base + "}")).run(p));
        // critical header parameters we do not understand
        JWSHeader crit = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").criticalParams(java.util.Set.of("exp"))
                .customParam("exp", 1).build();
        assertInvalidToken(Calls.chat(signRaw(signer, crit, "{" + base + ",\"sub\":\"u\"}")).run(p));
        // ES256 signature in DER instead of R||S
        String es = idp.es256(idp.claims().build());
        String[] parts = es.split("\\.");
        byte[] der = com.nimbusds.jose.crypto.impl.ECDSA.transcodeSignatureToDER(new Base64URL(parts[2]).decode());
        assertInvalidToken(Calls.chat(parts[0] + "." + parts[1] + "." + Base64URL.encode(der)).run(p));
        // an RSA-signed token relabelled as ES256 (algorithm/key mismatch)
        String rs = idp.token();
        String relabelled = Base64URL.encode("{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}") + rs.substring(rs.indexOf('.'));
        assertInvalidToken(Calls.chat(relabelled).run(p));
    }

    @Test
    void hugeOrNegativeNumericDatesAre401NotAnException() throws Exception {
        Plugin p = plugin("");
        long exp = Instant.now().getEpochSecond() + 300;
        String base = "\"iss\":\"" + idp.issuer + "\",\"aud\":\"inference\",\"sub\":\"u\",\"groups\":[\"analysts\"]";
        JWSHeader h = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build();
        RSASSASigner signer = new RSASSASigner(idp.rsa);
        assertThat(Calls.chat(signRaw(signer, h, "{" + base + ",\"exp\":" + exp + ",\"iat\":" + (exp - 300) + "}")).run(p))
                .isInstanceOf(RequestDecision.Proceed.class);
        for (String dates : List.of(
                "\"exp\":" + Long.MAX_VALUE,
                "\"exp\":31556889864403199",              // Instant.MAX: exp + skew overflows
                "\"exp\":253402300800",                   // one second past 9999-12-31
                "\"exp\":1e300",
                "\"exp\":-1",
                "\"exp\":" + exp + ",\"nbf\":" + Long.MAX_VALUE,
                "\"exp\":" + exp + ",\"nbf\":" + Long.MIN_VALUE,
                "\"exp\":" + exp + ",\"iat\":" + Long.MAX_VALUE,
                "\"exp\":" + exp + ",\"iat\":\"yesterday\"")) {
            assertInvalidToken(Calls.chat(signRaw(signer, h, "{" + base + "," + dates + "}")).run(p));
        }
    }

    /** Flips the unused low bits of the last base64url character: same bytes, different string. */
    static String nonCanonical(String part) {
        int rem = part.length() % 4;
        assertThat(rem).isNotZero();
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        int v = alphabet.indexOf(part.charAt(part.length() - 1));
        return part.substring(0, part.length() - 1) + alphabet.charAt(v | 1);
    }

    @Test
    void paddedOrNonCanonicalBase64urlIsRefused() throws Exception {
        Plugin p = plugin("");
        // find a token whose three parts all have a partial last quantum
        String t = null;
        for (int i = 0; i < 200 && t == null; i++) {
            String c = idp.token(b -> b.claim("n", java.util.UUID.randomUUID().toString().substring(0, 1 + (int) (Math.random() * 8))));
            String[] parts = c.split("\\.");
            if (parts[0].length() % 4 != 0 && parts[1].length() % 4 != 0 && parts[2].length() % 4 != 0) {
                t = c;
            }
        }
        assertThat(t).isNotNull();
        assertThat(Calls.chat(t).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        String[] parts = t.split("\\.");
        // same bytes after decoding, different strings
        assertThat(new Base64URL(nonCanonical(parts[1])).decode()).isEqualTo(new Base64URL(parts[1]).decode());
        assertInvalidToken(Calls.chat(nonCanonical(parts[0]) + "." + parts[1] + "." + parts[2]).run(p));
        assertInvalidToken(Calls.chat(parts[0] + "." + nonCanonical(parts[1]) + "." + parts[2]).run(p));
        assertInvalidToken(Calls.chat(parts[0] + "." + parts[1] + "." + nonCanonical(parts[2])).run(p));
        String pad = "=".repeat(4 - parts[2].length() % 4);
        assertInvalidToken(Calls.chat(parts[0] + "." + parts[1] + "." + parts[2] + pad).run(p));
        String padH = "=".repeat(4 - parts[0].length() % 4);
        assertInvalidToken(Calls.chat(parts[0] + padH + "." + parts[1] + "." + parts[2]).run(p));
    }

    @Test
    void aCachedTokenIsNoLongerHonouredOnceItsKeyLeavesTheJwks() throws Exception {
        Plugin p = plugin("\"jwks_min_refresh_seconds\":1");
        String t = idp.token();
        String ec = idp.es256(idp.claims().subject("ec-user").build());
        assertThat(Calls.chat(t).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(Calls.chat(t).run(p)).isInstanceOf(RequestDecision.Proceed.class); // cached now
        assertThat(Calls.chat(ec).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        // the IdP rotates: rsa-1 is gone, a new key under a new kid (ec-1 stays)
        RSAKey next = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
        idp.published.removeIf(k -> "rsa-1".equals(k.getKeyID()));
        idp.published.add(next.toPublicJWK());
        Thread.sleep(1100);
        // a token with the new kid makes the gateway refresh its keys
        String fresh = TestIdp.sign(new RSASSASigner(next), JWSAlgorithm.RS256, "rsa-2", idp.claims().build());
        assertThat(Calls.chat(fresh).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertInvalidToken(Calls.chat(t).run(p));
        // tokens of keys still published stay valid (and cached)
        assertThat(Calls.chat(ec).run(p)).isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void idTokensAreNeverAcceptedAsAccessTokens() throws Exception {
        Plugin p = plugin("");
        assertThat(Calls.chat(idp.token(b -> b.claim("typ", "Bearer"))).run(p)).isInstanceOf(RequestDecision.Proceed.class);
        assertInvalidToken(Calls.chat(idp.token(b -> b.claim("nonce", "n-0S6_WzA2Mj"))).run(p));
        assertInvalidToken(Calls.chat(idp.token(b -> b.claim("typ", "ID"))).run(p));
        JWSHeader h = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1")
                .type(new com.nimbusds.jose.JOSEObjectType("id_token+jwt")).build();
        assertInvalidToken(Calls.chat(signRaw(new RSASSASigner(idp.rsa), h, idp.claims().build().toString())).run(p));
    }

    @Test
    void requireAccessTokenTypeAcceptsOnlyAtJwt() throws Exception {
        Plugin strict = plugin("\"require_access_token_type\":true");
        RSASSASigner signer = new RSASSASigner(idp.rsa);
        String payload = idp.claims().build().toString();
        for (String typ : List.of("at+jwt", "application/at+jwt", "AT+JWT")) {
            JWSHeader h = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").type(new com.nimbusds.jose.JOSEObjectType(typ)).build();
            assertThat(Calls.chat(signRaw(signer, h, payload)).run(strict)).as(typ).isInstanceOf(RequestDecision.Proceed.class);
        }
        String jwtTyp = idp.token(); // typ "JWT"
        assertInvalidToken(Calls.chat(jwtTyp).run(strict));
        assertInvalidToken(Calls.chat(signRaw(signer, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), payload)).run(strict));
        // the same (now cached) typ JWT token on a route without the option: accepted (default false)
        assertThat(Calls.chat(jwtTyp).run(plugin(""))).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(Calls.chat(jwtTyp).run(strict)).isInstanceOf(RequestDecision.Halt.class);
    }
}
