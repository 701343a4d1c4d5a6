package io.inferencepam.pam.auth;

import com.nimbusds.jose.JWSAlgorithm;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A token whose signature and issuer were checked, with the claims the per-route policy needs
 * pre-extracted. Route policy (audience, lifetime, scopes, algorithms) is applied on every call,
 * cached or not.
 *
 * @param exp     expiry; tokens without {@code exp} are refused before they get here
 * @param nbf     not-before, or null
 * @param claims  all claims (for configurable claim paths)
 * @param type    the JOSE header {@code typ}, or null when absent
 */
public record VerifiedToken(JWSAlgorithm alg, String issuer, String subject, List<String> audiences,
                            Instant exp, Instant nbf, Set<String> scopes, Map<String, Object> claims,
                            String type) {
}
