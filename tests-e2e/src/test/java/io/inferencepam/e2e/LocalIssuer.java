package io.inferencepam.e2e;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * A real OIDC issuer on loopback (discovery and JWKS over HTTP, an RSA key generated at start) for
 * end-to-end tests that need valid tokens where starting Keycloak costs too much (it did not start
 * within 360 s on a loaded 2-core host). The runner fetches its keys as it fetches Keycloak's.
 */
public final class LocalIssuer implements AutoCloseable {
    private final HttpServer server;
    private final RSAKey key;
    public final String issuer;
    /** While false, every request is answered 503, as by an IdP behind a load balancer with no healthy node. */
    private volatile boolean up = true;
    /** How long the JWKS request is held before its answer (a slow IdP). */
    private volatile long keysDelayMillis;

    public LocalIssuer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/local";
        key = new RSAKeyGenerator(2048).keyID("local-1").generate();
        String jwks = new JWKSet(key.toPublicJWK()).toString();
        server.createContext("/realms/local/.well-known/openid-configuration",
                ex -> respond(ex, "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/certs\"}"));
        server.createContext("/realms/local/certs", ex -> {
            try {
                Thread.sleep(keysDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            respond(ex, jwks);
        });
        // Each exchange on its own thread: a held JWKS answer does not hold the discovery document.
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "local-issuer");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** Holds every later JWKS answer this long. */
    public LocalIssuer serveKeysAfter(java.time.Duration delay) {
        keysDelayMillis = delay.toMillis();
        return this;
    }

    /** Answers 503 to everything from now on (until {@link #up()}). */
    public void down() {
        up = false;
    }

    public void up() {
        up = true;
    }

    private void respond(HttpExchange ex, String body) throws IOException {
        if (!up) {
            ex.sendResponseHeaders(503, -1);
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

    /** An RS256 access token for {@code audience}, valid ten minutes, with these groups. */
    public String token(String subject, String audience, List<String> groups) throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).subject(subject).audience(audience)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)))
                .claim("preferred_username", subject).claim("groups", groups).claim("azp", "sdk").build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
