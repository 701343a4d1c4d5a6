package io.inferencepam.pam.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import io.inferencepam.runner.spi.Metrics;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signature keys of one OIDC issuer: discovered from {@code /.well-known/openid-configuration},
 * fetched from its {@code jwks_uri}, refreshed in the background on the blocking executor (never on
 * a request's path, never on the event loop). A failed refresh keeps the last good keys. An unknown
 * {@code kid} may trigger an early refresh, at most once per {@code minRefresh}, so forged tokens
 * cannot make us hammer the IdP.
 */
public final class IssuerKeys implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IssuerKeys.class);
    /** Every asymmetric JWS algorithm we can verify; HMAC and none are never accepted. */
    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512,
            JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);
    private static final int MAX_DOCUMENT_BYTES = 1 << 20;
    private static final int MAX_KEYS = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String issuer;
    private final Optional<URI> configuredJwksUri;
    private final Duration refreshInterval;
    private final Duration minRefresh;
    private final Executor blocking;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Metrics.Counter refreshes;
    private final HttpClient http;

    private volatile KeySnapshot snapshot;
    private volatile URI discoveredJwksUri;
    private volatile long lastAttemptNanos = Long.MIN_VALUE / 2;
    private final AtomicReference<CompletableFuture<KeySnapshot>> inFlight = new AtomicReference<>();
    private volatile boolean closed;

    public IssuerKeys(String issuer, Optional<URI> jwksUri, Duration refreshInterval, Duration minRefresh,
                      Executor blocking, ScheduledExecutorService scheduler, Clock clock, Metrics.Counter refreshes) {
        this.issuer = issuer;
        this.configuredJwksUri = jwksUri;
        this.refreshInterval = refreshInterval;
        this.minRefresh = minRefresh;
        this.blocking = blocking;
        this.scheduler = scheduler;
        this.clock = clock;
        this.refreshes = refreshes;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    public String issuer() {
        return issuer;
    }

    /** Loads the keys now (asynchronously) and then every {@code refreshInterval}. */
    public void start() {
        // Through the scheduler, so the caller (PrepareConf, or the offline linter whose blocking
        // executor runs tasks inline) never waits for the IdP.
        scheduler.execute(this::refresh);
        scheduler.scheduleWithFixedDelay(() -> {
            if (!closed) {
                refresh();
            }
        }, refreshInterval.toMillis(), refreshInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Loads the keys now; completes when they are loaded (or fails). For tools and benchmarks. */
    public CompletableFuture<Void> loadNow() {
        return refresh().thenApply(s -> null);
    }

    /**
     * Completes once this issuer's keys are at hand, or their load failed: at once when they are
     * loaded, else with the load in flight, else with a new one, rate-limited like an unknown key's
     * refresh (at most once per {@code minRefresh}), so confs prepared while the IdP is down cannot
     * make us hammer it. Never fails.
     */
    CompletableFuture<?> warmUp() {
        return snapshot != null ? CompletableFuture.completedFuture(null) : refreshForUnknownKey();
    }

    /** The last good keys, empty until the first successful load. */
    Optional<KeySnapshot> current() {
        return Optional.ofNullable(snapshot);
    }

    /**
     * Asks for a refresh because a token named a key we do not have (or we have none). Completes with
     * the keys after that refresh, or at once with the current keys when a refresh ran less than
     * {@code minRefresh} ago.
     */
    CompletableFuture<Optional<KeySnapshot>> refreshForUnknownKey() {
        long now = System.nanoTime();
        if (now - lastAttemptNanos < minRefresh.toNanos() && inFlight.get() == null) {
            return CompletableFuture.completedFuture(current());
        }
        return refresh().handle((s, e) -> current());
    }

    /** Starts a refresh unless one is running; concurrent callers share it. */
    CompletableFuture<KeySnapshot> refresh() {
        CompletableFuture<KeySnapshot> mine = new CompletableFuture<>();
        CompletableFuture<KeySnapshot> running = inFlight.compareAndExchange(null, mine);
        if (running != null) {
            return running;
        }
        lastAttemptNanos = System.nanoTime();
        try {
            blocking.execute(() -> {
                try {
                    KeySnapshot s = load();
                    snapshot = s;
                    refreshes.inc("ok");
                    LOG.info("JWKS of {} loaded: {} signature key(s)", issuer, s.byKid().size());
                    inFlight.set(null);
                    mine.complete(s);
                } catch (Exception | LinkageError e) {
                    refreshes.inc("error");
                    discoveredJwksUri = null;
                    LOG.warn("JWKS of {} could not be loaded ({}); keeping {} key(s) from before", issuer,
                            e.getClass().getSimpleName() + ": " + e.getMessage(),
                            snapshot == null ? 0 : snapshot.byKid().size());
                    inFlight.set(null);
                    mine.completeExceptionally(e);
                }
            });
        } catch (RuntimeException rejected) {
            refreshes.inc("error");
            inFlight.set(null);
            mine.completeExceptionally(rejected);
        }
        return mine;
    }

    private KeySnapshot load() throws IOException, InterruptedException, java.text.ParseException {
        URI jwksUri = configuredJwksUri.orElse(discoveredJwksUri);
        if (jwksUri == null) {
            JsonNode doc = JSON.readTree(get(URI.create(stripSlash(issuer) + "/.well-known/openid-configuration")));
            String advertised = doc.path("issuer").asText("");
            if (!issuer.equals(advertised)) {
                // An IdP that calls itself something else is misconfigured or not the one we trust (mix-up).
                throw new IOException("discovery document names issuer '" + advertised + "'");
            }
            String uri = doc.path("jwks_uri").asText("");
            if (uri.isEmpty()) {
                throw new IOException("discovery document has no jwks_uri");
            }
            jwksUri = URI.create(uri);
            discoveredJwksUri = jwksUri;
        }
        JWKSet set = JWKSet.parse(new String(get(jwksUri), java.nio.charset.StandardCharsets.UTF_8));
        Map<String, VerifyKey> keys = new LinkedHashMap<>();
        int unnamed = 0;
        for (JWK jwk : set.getKeys()) {
            if (keys.size() >= MAX_KEYS) {
                break;
            }
            if (jwk.getKeyUse() != null && !KeyUse.SIGNATURE.equals(jwk.getKeyUse())) {
                continue;
            }
            Optional<VerifyKey> k = toVerifyKey(jwk);
            if (k.isPresent()) {
                String kid = jwk.getKeyID() != null ? jwk.getKeyID() : "\u0000unnamed-" + unnamed++;
                keys.putIfAbsent(kid, k.get());
            }
        }
        if (keys.isEmpty()) {
            // An empty or unusable key set must not replace keys that worked (keep the last good ones).
            throw new IOException("JWKS at " + jwksUri + " has no usable signature keys");
        }
        return new KeySnapshot(keys, Instant.now(clock));
    }

    static Optional<VerifyKey> toVerifyKey(JWK jwk) {
        try {
            Set<JWSAlgorithm> algs = new HashSet<>();
            java.security.PublicKey publicKey;
            if (jwk instanceof RSAKey rsa) {
                // Nimbus' size() counts the encoded modulus bytes, leading zero bytes included: a
                // 1024-bit modulus padded to 256 bytes would pass. The modulus' own bit length decides.
                if (rsa.getModulus() == null || rsa.getModulus().decodeToBigInteger().bitLength() < 2048) {
                    return Optional.empty();
                }
                publicKey = rsa.toRSAPublicKey();
                algs.addAll(JWSAlgorithm.Family.RSA);
            } else if (jwk instanceof ECKey ec) {
                // Nimbus has already checked that the point is on the named curve
                publicKey = ec.toECPublicKey();
                algs.add(com.nimbusds.jose.crypto.impl.ECDSA.resolveAlgorithm(ec.getCurve()));
            } else if (jwk instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve()) && !okp.isPrivate()) {
                publicKey = ed25519(okp.getX().decode());
                algs.add(JWSAlgorithm.EdDSA);
                algs.add(JWSAlgorithm.Ed25519);
            } else {
                return Optional.empty(); // symmetric keys (and anything else) are never trusted
            }
            algs.retainAll(ASYMMETRIC);
            if (jwk.getAlgorithm() != null) {
                algs.retainAll(Set.of(JWSAlgorithm.parse(jwk.getAlgorithm().getName())));
            }
            if (algs.isEmpty()) {
                return Optional.empty();
            }
            SignatureCheck check = new SignatureCheck(publicKey, algs);
            return Optional.of(new VerifyKey(jwk.getKeyID(), Set.copyOf(check.algorithms()), check));
        } catch (JOSEException | java.security.GeneralSecurityException | RuntimeException e) {
            LOG.warn("ignoring an unusable JWK ({})", e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519 (OID 1.3.101.112) with a 32-byte key. */
    private static final byte[] ED25519_X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    private static java.security.PublicKey ed25519(byte[] x) throws java.security.GeneralSecurityException {
        if (x.length != 32) {
            throw new java.security.InvalidKeyException("bad Ed25519 key length");
        }
        byte[] der = new byte[ED25519_X509_PREFIX.length + 32];
        System.arraycopy(ED25519_X509_PREFIX, 0, der, 0, ED25519_X509_PREFIX.length);
        System.arraycopy(x, 0, der, ED25519_X509_PREFIX.length, 32);
        return java.security.KeyFactory.getInstance("Ed25519").generatePublic(new java.security.spec.X509EncodedKeySpec(der));
    }

    /**
     * Keys fetched over plain HTTP can be swapped by anyone on the path, and then every token they
     * sign is "valid". Only https, or http to a loopback address (tests, a sidecar IdP), is used —
     * this also covers a {@code jwks_uri} that a discovery document advertises as http.
     */
    static void requireTransportSecurity(URI uri) throws IOException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if ("https".equals(scheme)) {
            return;
        }
        if ("http".equals(scheme) && uri.getHost() != null) {
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(uri.getHost())) {
                if (!a.isLoopbackAddress()) {
                    throw new IOException("refusing keys over plain http from a non-loopback host");
                }
            }
            return;
        }
        throw new IOException("refusing keys over " + (scheme.isEmpty() ? "a URL without scheme" : scheme));
    }

    private byte[] get(URI uri) throws IOException, InterruptedException {
        requireTransportSecurity(uri);
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
                .header("Accept", "application/json").GET().build();
        HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = resp.body()) {
            if (resp.statusCode() != 200) {
                throw new IOException("HTTP " + resp.statusCode() + " from " + uri);
            }
            byte[] bytes = in.readNBytes(MAX_DOCUMENT_BYTES + 1);
            if (bytes.length > MAX_DOCUMENT_BYTES) {
                throw new IOException("document larger than " + MAX_DOCUMENT_BYTES + " bytes at " + uri);
            }
            return bytes;
        }
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() {
        closed = true;
    }
}
