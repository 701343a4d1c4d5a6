package io.inferencepam.pam.auth;

import static io.inferencepam.pam.auth.PamAuthTokenTest.assertInvalidToken;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.util.Base64URL;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * JWS headers a verifier could read differently from us are refused: {@code b64} (RFC 7797, in any
 * form) and any {@code crit}; and ECDSA signatures outside {@code [1, n−1]} never get a verdict from
 * the JRE (CVE-2022-21449: some JREs accepted r = s = 0 for every message).
 */
class JwsHeaderStrictnessTest {
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

    /** A token signed by the IdP's RSA key over exactly {@code header.payload} as written (RS256). */
    private String rs256(String headerJson, String payload) throws Exception {
        String signingInput = Base64URL.encode(headerJson.getBytes(StandardCharsets.UTF_8)) + "." + payload;
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(idp.rsa.toPrivateKey());
        s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + Base64URL.encode(s.sign());
    }

    private String claims() {
        return Base64URL.encode(idp.claims().build().toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    @Test
    void theSameTokenWithoutTricksIsAccepted() throws Exception {
        assertThat(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims())).run(plugin))
                .isInstanceOf(RequestDecision.Proceed.class);
    }

    @Test
    void b64IsRefusedInAnyForm() throws Exception {
        // what passed on the real gateway: b64:false without crit, signed the ordinary way
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":false}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":true}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":\"false\"}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":null}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b\\u0036\\u0034\":false}", claims())).run(plugin));
        // and declared critical, as RFC 7797 requires
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":false,\"crit\":[\"b64\"]}", claims()))
                .run(plugin));
    }

    @Test
    void anyCritIsRefused() throws Exception {
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[]}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":null}", claims())).run(plugin));
        assertInvalidToken(Calls.chat(rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"exp\"],\"exp\":1}", claims()))
                .run(plugin));
    }

    @Test
    void es256SignaturesOutsideTheCurveOrderAre401() throws Exception {
        String good = idp.es256(idp.claims().build());
        assertThat(Calls.chat(good).run(plugin)).isInstanceOf(RequestDecision.Proceed.class);
        String signed = good.substring(0, good.lastIndexOf('.') + 1);
        BigInteger n = Curve.P_256.toECParameterSpec().getOrder();
        for (byte[] sig : new byte[][] {
                SignatureCheckTest.rs(BigInteger.ZERO, BigInteger.ZERO, 32),
                SignatureCheckTest.rs(n, n, 32),
                SignatureCheckTest.rs(n, BigInteger.ONE, 32),
                SignatureCheckTest.rs(BigInteger.ONE, n, 32)}) {
            assertInvalidToken(Calls.chat(signed + Base64URL.encode(sig)).run(plugin));
        }
    }
}
