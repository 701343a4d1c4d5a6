package io.inferencepam.pam.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
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

    private final IssuerKeys keys;
    private final Clock clock;
    private final Cache<TokenHash, VerifiedToken> verified;
    private final ThreadLocal<MessageDigest> sha256 = ThreadLocal.withInitial(TokenVerifier::newDigest);

    /** @param cacheSize verified tokens remembered; 0 disables the cache (benchmarks of the miss path) */
    public TokenVerifier(IssuerKeys keys, Clock clock, long cacheSize) {
        this.keys = keys;
        this.clock = clock;
        this.verified = cacheSize <= 0 ? null : Caffeine.newBuilder()
                .maximumSize(cacheSize)
                .expireAfter(new Expiry<TokenHash, VerifiedToken>() {
                    @Override
                    public long expireAfterCreate(TokenHash k, VerifiedToken v, long now) {
                        Duration left = Duration.between(Instant.now(clock), v.exp().plus(MAX_SKEW));
                        if (left.isNegative()) {
                            return 0;
                        }
                        return Math.min(left.toNanos(), MAX_CACHE_LIFETIME.toNanos());
                    }

                    @Override
                    public long expireAfterUpdate(TokenHash k, VerifiedToken v, long now, long current) {
                        return current;
                    }

                    @Override
                    public long expireAfterRead(TokenHash k, VerifiedToken v, long now, long current) {
                        return current;
                    }
                })
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

    /** Verifies, refreshing the JWKS (rate-limited, asynchronously) when the token names a key we lack. */
    public CompletionStage<Result> verify(String token) {
        Attempt first = attempt(token);
        if (first.result != null) {
            return CompletableFuture.completedFuture(first.result);
        }
        return keys.refreshForUnknownKey().thenApply(ignored -> {
            Attempt second = attempt(token);
            if (second.result != null) {
                return second.result;
            }
            return keys.current().isEmpty() ? new KeysUnavailable()
                    : new Invalid("unknown_key", "The access token was signed with an unknown key.");
        });
    }

    /** Synchronous verification with the keys at hand; empty result means "key unknown, refresh may help". */
    Attempt attempt(String token) {
        TokenHash hash = hash(token);
        VerifiedToken cached = verified == null ? null : verified.getIfPresent(hash);
        if (cached != null) {
            return new Attempt(new Verified(cached));
        }
        SignedJWT jwt;
        JWSHeader header;
        try {
            jwt = SignedJWT.parse(token);
            header = jwt.getHeader();
        } catch (java.text.ParseException | RuntimeException e) {
            return invalid("malformed", "The access token is not a well-formed signed JWT.");
        }
        JWSAlgorithm alg = header.getAlgorithm();
        if (alg == null || !IssuerKeys.ASYMMETRIC.contains(alg)) {
            return invalid("algorithm", "The access token uses a signature algorithm that is not accepted.");
        }
        if (header.getCriticalParams() != null && !header.getCriticalParams().isEmpty()) {
            return invalid("malformed", "The access token has critical header parameters that are not supported.");
        }
        String kid = header.getKeyID();
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
        boolean ok;
        try {
            ok = jwt.verify(key.get().verifier());
        } catch (JOSEException | RuntimeException e) {
            ok = false;
        }
        if (!ok) {
            return invalid("signature", "The access token signature is not valid.");
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (java.text.ParseException | RuntimeException e) {
            return invalid("malformed", "The access token claims are not valid JSON.");
        }
        if (!keys.issuer().equals(claims.getIssuer())) {
            return invalid("issuer", "The access token was not issued by the expected issuer.");
        }
        if (claims.getExpirationTime() == null) {
            return invalid("expired", "The access token has no expiry.");
        }
        if (claims.getSubject() == null || claims.getSubject().isEmpty()) {
            return invalid("malformed", "The access token has no subject.");
        }
        VerifiedToken v = new VerifiedToken(alg, claims.getIssuer(), claims.getSubject(),
                claims.getAudience() == null ? List.of() : List.copyOf(claims.getAudience()),
                claims.getExpirationTime().toInstant(),
                claims.getNotBeforeTime() == null ? null : claims.getNotBeforeTime().toInstant(),
                scopes(claims), claims.getClaims());
        if (verified != null && v.exp().plus(MAX_SKEW).isAfter(Instant.now(clock))) {
            verified.put(hash, v);
        }
        return new Attempt(new Verified(v));
    }

    static Set<String> scopes(JWTClaimsSet claims) {
        Set<String> out = new HashSet<>();
        Object scope = claims.getClaim("scope");
        if (scope instanceof String s) {
            for (String part : s.split(" ")) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
        }
        Object scp = claims.getClaim("scp");
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

    /** result null = the key is unknown (or there are no keys): a refresh may help. */
    record Attempt(Result result) {
    }
}
