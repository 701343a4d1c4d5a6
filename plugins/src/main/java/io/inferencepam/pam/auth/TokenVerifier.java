package io.inferencepam.pam.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Verifies the signature and issuer of access tokens of one issuer, and remembers verified tokens
 * (by SHA-256, bounded in size, each entry living no longer than the token) so a repeat call costs
 * a hash and a map lookup. On a miss it parses the compact JWS once and calls the verifier that was
 * built for the token's {@code kid} when the JWKS was loaded.
 */
public final class TokenVerifier {
    /** Cache entries outlive {@code exp} by this much so route policies with clock skew still see them. */
    static final Duration MAX_SKEW = Duration.ofMinutes(5);
    private static final Duration MAX_CACHE_LIFETIME = Duration.ofHours(1);
    /** 9999-12-31T23:59:59Z: the largest NumericDate accepted in {@code exp}, {@code nbf} and {@code iat}. */
    static final long MAX_NUMERIC_DATE = 253_402_300_799L;

    /** Duplicate names in the header or claims are refused: another JWT library might read the other one. */
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };
    private static final Base64.Decoder B64 = Base64.getUrlDecoder();
    private static final Map<String, JWSAlgorithm> ALGORITHMS = IssuerKeys.ASYMMETRIC.stream()
            .collect(java.util.stream.Collectors.toUnmodifiableMap(JWSAlgorithm::getName, a -> a));

    private final IssuerKeys keys;
    private final Clock clock;
    private final Cache<TokenHash, Cached> verified;
    private final ThreadLocal<MessageDigest> sha256 = ThreadLocal.withInitial(TokenVerifier::newDigest);
    /** Where a cache miss is verified (the plugin threads): never the thread that asks, which may be an event loop. */
    private final Executor misses;

    /** Verifies misses on the calling thread (benchmarks of the verification itself). */
    public TokenVerifier(IssuerKeys keys, Clock clock, long cacheSize) {
        this(keys, clock, cacheSize, Runnable::run);
    }

    /**
     * @param cacheSize verified tokens remembered; 0 disables the cache (benchmarks of the miss path)
     * @param misses    where a miss is parsed and its signature checked: the plugin threads
     *                  ({@link io.inferencepam.runner.spi.PluginEnvironment#pluginExecutor}), so that
     *                  only a cache hit (a hash and a lookup) runs where {@link #verify} is called
     */
    public TokenVerifier(IssuerKeys keys, Clock clock, long cacheSize, Executor misses) {
        this.misses = misses;
        this.keys = keys;
        this.clock = clock;
        this.verified = cacheSize <= 0 ? null : Caffeine.newBuilder()
                .maximumSize(cacheSize)
                .expireAfter(new Expiry<TokenHash, Cached>() {
                    @Override
                    public long expireAfterCreate(TokenHash k, Cached c, long now) {
                        Duration left = Duration.between(Instant.now(clock), c.token().exp().plus(MAX_SKEW));
                        if (left.isNegative()) {
                            return 0;
                        }
                        return Math.min(left.toNanos(), MAX_CACHE_LIFETIME.toNanos());
                    }

                    @Override
                    public long expireAfterUpdate(TokenHash k, Cached v, long now, long current) {
                        return current;
                    }

                    @Override
                    public long expireAfterRead(TokenHash k, Cached v, long now, long current) {
                        return current;
                    }
                })
                .executor(Runnable::run) // maintenance amortized on the caller: no pool wake-ups per call
                .build();
    }

    public IssuerKeys keys() {
        return keys;
    }

    /** Outcome of signature/issuer verification. */
    public sealed interface Result {
    }

    public record Verified(VerifiedToken token) implements Result {
    }

    /** @param reason stable, safe to show and to use as a metric label */
    public record Invalid(String reason, String message) implements Result {
    }

    /** No keys were ever loaded for the issuer: the caller must answer 503, not 401. */
    public record KeysUnavailable() implements Result {
    }

    /**
     * The plugin threads refused the verification of a miss (their queue is full: a flood of new
     * tokens). A result rather than a failed stage, so that the caller answers it without the
     * runtime's per-call failure log, possibly on the event loop.
     */
    public record Overloaded() implements Result {
    }

    /**
     * Verifies, refreshing the JWKS (rate-limited, asynchronously) when the token names a key we lack.
     * A cached token is answered at once; anything else (parse, signature check, refresh) completes
     * on the {@code misses} executor or the JWKS refresh, never on the calling thread. A full
     * executor fails the stage (the call fails closed).
     */
    public CompletionStage<Result> verify(String token) {
        TokenHash hash = hash(token);
        Result hit = peek(hash);
        if (hit != null) {
            return CompletableFuture.completedFuture(hit);
        }
        CompletableFuture<Attempt> first;
        try {
            first = CompletableFuture.supplyAsync(() -> attempt(token, hash), misses);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(new Overloaded());
        }
        return first.thenCompose(a -> a.result != null ? CompletableFuture.completedFuture(a.result)
                : keys.refreshForUnknownKey().thenApplyAsync(ignored -> {
                    Attempt second = attempt(token, hash);
                    if (second.result != null) {
                        return second.result;
                    }
                    return keys.current().isEmpty() ? new KeysUnavailable()
                            : new Invalid("unknown_key", "The access token was signed with an unknown key.");
                }, misses));
    }

    /**
     * A hit as {@link #cached}, read without any side effect on the cache: no access recorded, no
     * maintenance (which the cache's caller-runs executor would otherwise run here, possibly on an
     * event loop), no invalidation. A hit whose key left the JWKS is a miss here; {@link #attempt}
     * invalidates it on the {@code misses} executor.
     */
    private Result peek(TokenHash hash) {
        Cached cached = verified == null ? null : verified.policy().getIfPresentQuietly(hash);
        return cached != null && stillPublished(cached) ? new Verified(cached.token()) : null;
    }

    /** The verified token cached under {@code hash} while its key is still published, else null. */
    private Result cached(TokenHash hash) {
        Cached cached = verified == null ? null : verified.getIfPresent(hash);
        if (cached == null) {
            return null;
        }
        if (stillPublished(cached)) {
            return new Verified(cached.token());
        }
        // The issuer no longer publishes the key that signed it (rotated out or revoked).
        verified.invalidate(hash);
        return null;
    }

    /** Synchronous verification with the keys at hand; empty result means "key unknown, refresh may help". */
    private Attempt attempt(String token, TokenHash hash) {
        Result hit = cached(hash);
        if (hit != null) {
            return new Attempt(hit);
        }
        // Compact JWS: exactly three base64url parts. Parsed here rather than with SignedJWT.parse so a
        // miss costs little more than the signature check itself (performance.md G6).
        int dot1 = token.indexOf('.');
        int dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
        if (dot1 <= 0 || dot2 < 0 || dot2 == dot1 + 1 || token.indexOf('.', dot2 + 1) >= 0 || dot2 == token.length() - 1) {
            return invalid("malformed", "The access token is not a well-formed signed JWT.");
        }
        Map<String, Object> header;
        byte[] payload;
        byte[] signature;
        try {
            header = JSON.readValue(base64url(token.substring(0, dot1)), MAP);
            payload = base64url(token.substring(dot1 + 1, dot2));
            signature = base64url(token.substring(dot2 + 1));
        } catch (IOException | IllegalArgumentException e) {
            return invalid("malformed", "The access token is not a well-formed signed JWT.");
        }
        if (!(header.get("alg") instanceof String algName) || !ALGORITHMS.containsKey(algName)) {
            return invalid("algorithm", "The access token uses a signature algorithm that is not accepted.");
        }
        JWSAlgorithm alg = ALGORITHMS.get(algName);
        // No JWS extension is understood here, so none may change what was signed: any "crit" (RFC 7515
        // §4.1.11) and "b64" in any form (RFC 7797: with false, other libraries sign the raw payload; a
        // token carrying it without "crit" passed as an ordinary JWS on a real gateway).
        if (header.containsKey("crit") || header.containsKey("b64")) {
            return invalid("unsupported_header", "The access token uses JWS header parameters that are not supported.");
        }
        Object kidValue = header.get("kid");
        if (kidValue != null && !(kidValue instanceof String)) {
            return invalid("malformed", "The access token has an invalid key id.");
        }
        String kid = (String) kidValue;
        if (kid != null && kid.length() > 256) {
            return invalid("malformed", "The access token has an invalid key id.");
        }
        Optional<KeySnapshot> snapshot = keys.current();
        if (snapshot.isEmpty()) {
            return new Attempt(null);
        }
        Optional<VerifyKey> key = snapshot.get().find(kid, alg);
        if (key.isEmpty()) {
            return new Attempt(null);
        }
        if (!key.get().algorithms().contains(alg)) {
            return invalid("algorithm", "The access token's algorithm does not match its key.");
        }
        byte[] signingInput = token.substring(0, dot2).getBytes(StandardCharsets.US_ASCII);
        if (!key.get().check().verify(alg, signingInput, signature)) {
            return invalid("signature", "The access token signature is not valid.");
        }
        Map<String, Object> claims;
        try {
            claims = JSON.readValue(payload, MAP);
        } catch (IOException | RuntimeException e) {
            return invalid("malformed", "The access token claims are not valid JSON.");
        }
        if (!keys.issuer().equals(claims.get("iss"))) {
            return invalid("issuer", "The access token was not issued by the expected issuer.");
        }
        // An ID token says who logged in to a client, not what the bearer may call: never an access
        // token here (OIDC Core §2; RFC 9068 §4). ID tokens carry "nonce" when the client sent one,
        // Keycloak marks them with "typ": "ID"; both are refused whatever the route's policy.
        Object typClaim = claims.get("typ");
        if (claims.containsKey("nonce") || (typClaim instanceof String tc && tc.equalsIgnoreCase("ID"))
                || (header.get("typ") instanceof String ht && ht.equalsIgnoreCase("id_token+jwt"))) {
            return invalid("id_token", "An ID token is not an access token: send an OAuth access token.");
        }
        Object headerTyp = header.get("typ");
        if (headerTyp != null && !(headerTyp instanceof String)) {
            return invalid("malformed", "The access token has an invalid type header.");
        }
        Instant exp = numericDate(claims.get("exp"));
        if (exp == null) {
            return invalid("expired", "The access token has no valid expiry.");
        }
        Object nbfValue = claims.get("nbf");
        Instant nbf = numericDate(nbfValue);
        if (nbfValue != null && nbf == null) {
            return invalid("malformed", "The access token has an invalid not-before time.");
        }
        Object iatValue = claims.get("iat");
        if (iatValue != null && numericDate(iatValue) == null) {
            return invalid("malformed", "The access token has an invalid issued-at time.");
        }
        if (!(claims.get("sub") instanceof String sub) || sub.isEmpty()) {
            return invalid("malformed", "The access token has no subject.");
        }
        List<String> audiences;
        Object aud = claims.get("aud");
        if (aud instanceof String a) {
            audiences = List.of(a);
        } else if (aud instanceof List<?> l) {
            List<String> out = new ArrayList<>(l.size());
            for (Object o : l) {
                if (o instanceof String a) {
                    out.add(a);
                }
            }
            audiences = List.copyOf(out);
        } else {
            audiences = List.of();
        }
        VerifiedToken v = new VerifiedToken(alg, keys.issuer(), sub, audiences, exp, nbf, scopes(claims),
                Collections.unmodifiableMap(claims), (String) headerTyp);
        if (verified != null && v.exp().plus(MAX_SKEW).isAfter(Instant.now(clock))) {
            verified.put(hash, new Cached(v, kid, key.get().check().key()));
        }
        return new Attempt(new Verified(v));
    }

    /**
     * Strict base64url (RFC 7515 §2): alphabet {@code A-Z a-z 0-9 - _} only, no {@code =} padding, and
     * the unused bits of the last character must be zero. Otherwise several token strings decode to
     * the same bytes: distinct cache keys and audit hashes for one token, and room for smuggling.
     */
    static byte[] base64url(String part) {
        int n = part.length();
        if (n % 4 == 1) {
            throw new IllegalArgumentException("bad base64url length");
        }
        for (int i = 0; i < n; i++) {
            char c = part.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                throw new IllegalArgumentException("bad base64url character");
            }
        }
        if (n % 4 != 0) {
            int last = sextet(part.charAt(n - 1));
            int unusedBits = n % 4 == 2 ? 4 : 2;
            if ((last & ((1 << unusedBits) - 1)) != 0) {
                throw new IllegalArgumentException("non-canonical base64url");
            }
        }
        return B64.decode(part);
    }

    private static int sextet(char c) {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        return c == '-' ? 62 : 63;
    }

    /** JWT NumericDate: seconds since the epoch, integer or fractional; null if absent or not a number. */
    static Instant numericDate(Object value) {
        // Bounded to 0000-01-01..9999-12-31T23:59:59Z (and ≥ the epoch): larger values made
        // Instant.ofEpochSecond or exp.plus(skew) throw, which the runtime turned into a 503.
        if (value instanceof Integer || value instanceof Long) {
            long v = ((Number) value).longValue();
            return v < 0 || v > MAX_NUMERIC_DATE ? null : Instant.ofEpochSecond(v);
        }
        if (value instanceof Double d && Double.isFinite(d) && d >= 0 && d <= MAX_NUMERIC_DATE) {
            return Instant.ofEpochMilli((long) (d * 1000));
        }
        return null;
    }

    static Set<String> scopes(Map<String, Object> claims) {
        Set<String> out = new HashSet<>();
        Object scope = claims.get("scope");
        if (scope instanceof String s) {
            for (String part : s.split(" ")) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
        }
        Object scp = claims.get("scp");
        if (scp instanceof Collection<?> c) {
            for (Object o : c) {
                if (o instanceof String s) {
                    out.add(s);
                }
            }
        } else if (scp instanceof String s) {
            out.add(s);
        }
        return Set.copyOf(out);
    }

    private TokenHash hash(String token) {
        MessageDigest md = sha256.get();
        return TokenHash.of(md.digest(token.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Number of verified tokens cached (metrics). */
    public long cachedTokens() {
        return verified == null ? 0 : verified.estimatedSize();
    }

    private static Attempt invalid(String reason, String message) {
        return new Attempt(new Invalid(reason, message));
    }

    /** A cache hit counts only while the current key set still resolves the token's kid to the same key. */
    private boolean stillPublished(Cached c) {
        Optional<KeySnapshot> now = keys.current();
        if (now.isEmpty()) {
            return false;
        }
        Optional<VerifyKey> k = now.get().find(c.kid(), c.token().alg());
        return k.isPresent() && k.get().check().key().equals(c.key());
    }

    /** A verified token with the key id it named and the key that verified it. */
    private record Cached(VerifiedToken token, String kid, java.security.PublicKey key) {
    }

    /** result null = the key is unknown (or there are no keys): a refresh may help. */
    record Attempt(Result result) {
    }
}
