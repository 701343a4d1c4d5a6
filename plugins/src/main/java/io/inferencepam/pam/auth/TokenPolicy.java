package io.inferencepam.pam.auth;

import com.nimbusds.jose.JWSAlgorithm;
import io.inferencepam.pam.core.Principal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A route's rules for tokens already verified by {@link TokenVerifier}: accepted algorithms,
 * audience, lifetime with clock skew, required scopes; and how to read the principal from claims.
 * Applied on every call, so a cached token is still refused once it expires.
 */
public final class TokenPolicy {
    private final Set<JWSAlgorithm> algorithms;
    private final Set<String> audiences;
    private final Duration skew;
    private final Set<String> requiredScopes;
    private final List<String[]> groupClaimPaths;
    private final String usernameClaim;
    private final List<String> clientClaims;
    private final Clock clock;
    private final boolean requireAccessTokenType;

    public TokenPolicy(Set<JWSAlgorithm> algorithms, Set<String> audiences, Duration skew, Set<String> requiredScopes,
                       List<String> groupClaimPaths, String usernameClaim, List<String> clientClaims, Clock clock) {
        this(algorithms, audiences, skew, requiredScopes, groupClaimPaths, usernameClaim, clientClaims, clock, false);
    }

    /** @param requireAccessTokenType only accept header {@code typ} {@code at+jwt} (RFC 9068 §2.1) */
    public TokenPolicy(Set<JWSAlgorithm> algorithms, Set<String> audiences, Duration skew, Set<String> requiredScopes,
                       List<String> groupClaimPaths, String usernameClaim, List<String> clientClaims, Clock clock,
                       boolean requireAccessTokenType) {
        this.requireAccessTokenType = requireAccessTokenType;
        this.algorithms = Set.copyOf(algorithms);
        this.audiences = Set.copyOf(audiences);
        this.skew = skew;
        this.requiredScopes = Set.copyOf(requiredScopes);
        this.groupClaimPaths = groupClaimPaths.stream().map(p -> p.split("\\.")).toList();
        this.usernameClaim = usernameClaim;
        this.clientClaims = List.copyOf(clientClaims);
        this.clock = clock;
    }

    /** Why the token does not satisfy this route, or empty when it does. */
    public Optional<Rejection> check(VerifiedToken t) {
        if (!algorithms.contains(t.alg())) {
            return invalid("The access token uses a signature algorithm that this route does not accept.");
        }
        if (requireAccessTokenType && !isAccessTokenType(t.type())) {
            return invalid("The access token must be an RFC 9068 JWT access token (typ \"at+jwt\").");
        }
        Instant now = Instant.now(clock);
        if (!now.isBefore(t.exp().plus(skew))) {
            return invalid("The access token has expired.");
        }
        if (t.nbf() != null && now.plus(skew).isBefore(t.nbf())) {
            return invalid("The access token is not valid yet.");
        }
        boolean audOk = false;
        for (String a : t.audiences()) {
            if (audiences.contains(a)) {
                audOk = true;
                break;
            }
        }
        if (!audOk) {
            return invalid("The access token was not issued for this service (audience).");
        }
        if (!t.scopes().containsAll(requiredScopes)) {
            return Optional.of(new Rejection(403, "invalid_request_error", "insufficient_scope",
                    "The access token lacks a scope this route requires."));
        }
        return Optional.empty();
    }

    /** {@code at+jwt} or {@code application/at+jwt}, case-insensitive (RFC 9068 §2.1, RFC 7515 §4.1.9). */
    static boolean isAccessTokenType(String typ) {
        return typ != null && (typ.equalsIgnoreCase("at+jwt") || typ.equalsIgnoreCase("application/at+jwt"));
    }

    public Principal principal(VerifiedToken t) {
        Map<String, Object> claims = t.claims();
        Set<String> groups = new LinkedHashSet<>();
        for (String[] path : groupClaimPaths) {
            collectStrings(at(claims, path), groups);
        }
        String username = claims.get(usernameClaim) instanceof String s ? s : "";
        String client = "";
        for (String c : clientClaims) {
            if (claims.get(c) instanceof String s && !s.isEmpty()) {
                client = s;
                break;
            }
        }
        return new Principal(t.issuer(), t.subject(), username, new ArrayList<>(groups), client);
    }

    private static Object at(Map<String, Object> claims, String[] path) {
        Object node = claims;
        for (String step : path) {
            if (!(node instanceof Map<?, ?> m)) {
                return null;
            }
            node = m.get(step);
        }
        return node;
    }

    private static void collectStrings(Object value, Set<String> out) {
        if (value instanceof String s) {
            out.add(s);
        } else if (value instanceof Collection<?> c) {
            for (Object o : c) {
                if (o instanceof String s) {
                    out.add(s);
                }
            }
        }
    }

    private static Optional<Rejection> invalid(String message) {
        return Optional.of(new Rejection(401, "invalid_request_error", "invalid_token", message));
    }
}
