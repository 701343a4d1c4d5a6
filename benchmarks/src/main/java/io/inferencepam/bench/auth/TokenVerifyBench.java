package io.inferencepam.bench.auth;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.inferencepam.pam.auth.IssuerKeys;
import io.inferencepam.pam.auth.TokenPolicy;
import io.inferencepam.pam.auth.TokenVerifier;
import io.inferencepam.runner.control.PrometheusMetrics;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * G6/G7 (performance.md): pam-auth token verification on a cache miss against a raw JDK
 * {@code Signature.verify} of the same key, algorithm and signing input, in the same run; and the
 * cache-hit path (verified-token cache + the route's policy checks + principal extraction).
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar TokenVerifyBench -f 1 -wi 2 -i 3 -w 1s -r 1s</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
public class TokenVerifyBench {
    @Param({"RS256", "ES256"})
    public String alg;

    private HttpServer server;
    private TokenVerifier uncached;
    private TokenVerifier cached;
    private TokenPolicy policy;
    private String token;
    private Signature rawVerifier;
    private PublicKey publicKey;
    private byte[] signingInput;
    private byte[] rawSignature;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        String issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/bench";
        byte[] jwks = new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString().getBytes(StandardCharsets.UTF_8);
        server.createContext("/jwks", ex -> {
            ex.sendResponseHeaders(200, jwks.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(jwks);
            }
        });
        server.start();
        var exec = Executors.newSingleThreadExecutor();
        IssuerKeys keys = new IssuerKeys(issuer, Optional.of(java.net.URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks")),
                Duration.ofHours(1), Duration.ofSeconds(10), exec, Executors.newSingleThreadScheduledExecutor(),
                Clock.systemUTC(), new PrometheusMetrics().counter("x", "x", "result"));
        keys.loadNow().get(10, TimeUnit.SECONDS);
        uncached = new TokenVerifier(keys, Clock.systemUTC(), 0);
        cached = new TokenVerifier(keys, Clock.systemUTC(), 10_000);
        policy = new TokenPolicy(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256), Set.of("inference"), Duration.ofSeconds(30),
                Set.of(), List.of("groups", "realm_access.roles"), "preferred_username", List.of("azp"), Clock.systemUTC());

        // A Keycloak-shaped access token (~900 bytes of claims).
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).subject("3f1c2a7e-4b8d-4d0e-9a51-6c2f0b7e9d11")
                .audience(List.of("inference", "account")).expirationTime(Date.from(Instant.now().plusSeconds(3600)))
                .issueTime(new Date()).jwtID("onrtac:5b0e6f0a-7c2d-4f3e-8a9b-1c2d3e4f5a6b").claim("typ", "Bearer")
                .claim("azp", "pam-cli").claim("sid", "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f").claim("scope", "openid email profile")
                .claim("realm_access", java.util.Map.of("roles", List.of("default-roles-pam", "offline_access", "uma_authorization")))
                .claim("groups", List.of("analysts")).claim("preferred_username", "alice").claim("email", "alice@example.com")
                .claim("email_verified", true).claim("name", "Alice Test").build();
        boolean isRsa = "RS256".equals(alg);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(isRsa ? JWSAlgorithm.RS256 : JWSAlgorithm.ES256)
                .keyID(isRsa ? "rsa-1" : "ec-1").type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(isRsa ? new RSASSASigner(rsa) : new ECDSASigner(ec));
        token = jwt.serialize();

        String[] parts = token.split("\\.");
        signingInput = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        byte[] sig = new Base64URL(parts[2]).decode();
        rawSignature = isRsa ? sig : ECDSA.transcodeSignatureToDER(sig);
        publicKey = isRsa ? rsa.toRSAPublicKey() : ec.toECPublicKey();
        rawVerifier = Signature.getInstance(isRsa ? "SHA256withRSA" : "SHA256withECDSA");
        if (!(uncached.verify(token).toCompletableFuture().get() instanceof TokenVerifier.Verified)) {
            throw new IllegalStateException("benchmark token does not verify");
        }
        if (!rawJdkVerify()) {
            throw new IllegalStateException("raw verify failed");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        server.stop(0);
    }

    /** Baseline: the JDK's signature check alone, on pre-decoded bytes, with a reused Signature object. */
    @Benchmark
    public boolean rawJdkVerify() throws Exception {
        rawVerifier.initVerify(publicKey);
        rawVerifier.update(signingInput);
        return rawVerifier.verify(rawSignature);
    }

    /** Cache miss: SHA-256 of the token, JWS parse, per-kid verifier, claims parse and issuer/expiry checks. */
    @Benchmark
    public Object missVerify() {
        return uncached.verify(token).toCompletableFuture().join();
    }

    /** Cache hit: token hash + cache lookup + the route policy (alg, exp/nbf, aud, scopes) + principal. */
    @Benchmark
    public void hitVerifyAndPolicy(Blackhole bh) {
        TokenVerifier.Result r = cached.verify(token).toCompletableFuture().join();
        var t = ((TokenVerifier.Verified) r).token();
        bh.consume(policy.check(t));
        bh.consume(policy.principal(t));
    }
}
