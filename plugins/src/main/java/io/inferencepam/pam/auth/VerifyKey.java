package io.inferencepam.pam.auth;

import com.nimbusds.jose.JWSAlgorithm;
import java.util.Set;

/**
 * One signature key of an issuer with its verifier, built once when the JWKS is loaded so a token
 * verification does no key selection or verifier construction.
 *
 * @param algorithms the JWS algorithms this key may verify (narrowed by the JWK's own {@code alg})
 */
record VerifyKey(String kid, Set<JWSAlgorithm> algorithms, SignatureCheck check) {
}
