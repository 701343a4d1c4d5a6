package io.inferencepam.pam.auth;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A real local OIDC issuer for unit tests: discovery document and JWKS over HTTP
 * (com.sun.net.httpserver), keys generated at start, tokens signed with them.
 */
final class TestIdp implements AutoCloseable {
    final HttpServer server;
    final String issuer;
    final RSAKey rsa;
    final ECKey ec;
    final List<JWK> published = new ArrayList<>();
    final AtomicInteger jwksHits = new AtomicInteger();
    volatile boolean down;

    TestIdp() throws Exception {
        this("");
    }

    TestIdp(String realm) throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/test" + realm;
        rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        published.add(rsa.toPublicJWK());
        published.add(ec.toPublicJWK());
        server.createContext("/realms/test" + realm + "/.well-known/openid-configuration", ex -> {
            respond(ex, "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/certs\"}");
        });
        server.createContext("/realms/test" + realm + "/certs", ex -> {
            jwksHits.incrementAndGet();
            respond(ex, new JWKSet(new ArrayList<>(published)).toString());
        });
        server.start();
    }

    private void respond(com.sun.net.httpserver.HttpExchange ex, String body) throws IOException {
        if (down) {
            ex.sendResponseHeaders(500, -1);
            ex.close();
            return;
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(issuer).subject("user-1").audience("inference")
                .expirationTime(Date.from(now.plusSeconds(300))).issueTime(Date.from(now))
                .claim("preferred_username", "alice").claim("groups", List.of("analysts")).claim("azp", "cli");
    }

    String rs256(JWTClaimsSet c) throws Exception {
        return sign(new RSASSASigner(rsa), JWSAlgorithm.RS256, rsa.getKeyID(), c);
    }

    String es256(JWTClaimsSet c) throws Exception {
        return sign(new ECDSASigner(ec), JWSAlgorithm.ES256, ec.getKeyID(), c);
    }

    String token() throws Exception {
        return rs256(claims().build());
    }

    String token(Consumer<JWTClaimsSet.Builder> change) throws Exception {
        JWTClaimsSet.Builder b = claims();
        change.accept(b);
        return rs256(b.build());
    }

    static String sign(JWSSigner signer, JWSAlgorithm alg, String kid, JWTClaimsSet c) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), c);
        jwt.sign(signer);
        return jwt.serialize();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
