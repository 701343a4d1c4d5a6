package io.inferencepam.pam.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.impl.ECDSA;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Verifies JWS signatures of one public key with the JDK's own {@link Signature}, one instance per
 * thread and algorithm, initialised with the key already decoded: a verification costs what the
 * JDK's RSA/ECDSA/EdDSA check costs and nothing else (performance.md G6). ECDSA uses the JDK's
 * P1363 format, which is the JWS R‖S encoding, so no DER transcoding either.
 */
final class SignatureCheck {
    private static final Map<JWSAlgorithm, String> JCA = Map.ofEntries(
            Map.entry(JWSAlgorithm.RS256, "SHA256withRSA"), Map.entry(JWSAlgorithm.RS384, "SHA384withRSA"),
            Map.entry(JWSAlgorithm.RS512, "SHA512withRSA"),
            Map.entry(JWSAlgorithm.PS256, "RSASSA-PSS"), Map.entry(JWSAlgorithm.PS384, "RSASSA-PSS"),
            Map.entry(JWSAlgorithm.PS512, "RSASSA-PSS"),
            Map.entry(JWSAlgorithm.ES256, "SHA256withECDSAinP1363Format"),
            Map.entry(JWSAlgorithm.ES384, "SHA384withECDSAinP1363Format"),
            Map.entry(JWSAlgorithm.ES512, "SHA512withECDSAinP1363Format"),
            Map.entry(JWSAlgorithm.EdDSA, "Ed25519"), Map.entry(JWSAlgorithm.Ed25519, "Ed25519"));
    /** R‖S length per ECDSA algorithm (RFC 7518 §3.4). */
    private static final Map<JWSAlgorithm, Integer> EC_SIG_LENGTH = Map.of(
            JWSAlgorithm.ES256, 64, JWSAlgorithm.ES384, 96, JWSAlgorithm.ES512, 132);

    private final PublicKey key;
    private final Map<JWSAlgorithm, ThreadLocal<Signature>> perAlg;

    /** Where {@link Signature}s come from: the JCA, or in tests a wrapper that counts what reaches it. */
    @FunctionalInterface
    interface Jca {
        Signature signature(String name) throws GeneralSecurityException;
    }

    SignatureCheck(PublicKey key, Set<JWSAlgorithm> algorithms) throws GeneralSecurityException {
        this(key, algorithms, Signature::getInstance);
    }

    SignatureCheck(PublicKey key, Set<JWSAlgorithm> algorithms, Jca jca) throws GeneralSecurityException {
        this.key = key;
        java.util.HashMap<JWSAlgorithm, ThreadLocal<Signature>> m = new java.util.HashMap<>();
        for (JWSAlgorithm alg : algorithms) {
            String name = JCA.get(alg);
            if (name == null) {
                continue;
            }
            Signature probe = newSignature(jca, alg, name);
            probe.initVerify(key); // fails here, at JWKS load, if key and algorithm do not fit
            Supplier<Signature> s = () -> {
                try {
                    return newSignature(jca, alg, name);
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException(e);
                }
            };
            m.put(alg, ThreadLocal.withInitial(s));
        }
        this.perAlg = Map.copyOf(m);
    }

    /** The public key (keys compare by value, so a reloaded JWKS yields an equal key). */
    PublicKey key() {
        return key;
    }

    Set<JWSAlgorithm> algorithms() {
        return perAlg.keySet();
    }

    private static Signature newSignature(Jca jca, JWSAlgorithm alg, String name) throws GeneralSecurityException {
        Signature s = jca.signature(name);
        if (name.equals("RSASSA-PSS")) {
            s.setParameter(pss(alg));
        }
        return s;
    }

    private static PSSParameterSpec pss(JWSAlgorithm alg) {
        if (JWSAlgorithm.PS384.equals(alg)) {
            return new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1);
        }
        if (JWSAlgorithm.PS512.equals(alg)) {
            return new PSSParameterSpec("SHA-512", "MGF1", MGF1ParameterSpec.SHA512, 64, 1);
        }
        return new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
    }

    /**
     * r and s each in [1, n−1] for the algorithm's curve order n, checked before the JRE sees the
     * signature: JREs 15–18 before the April 2022 updates accepted r = s = 0 for every message and
     * key (CVE-2022-21449), and the images run a floating JRE tag. Nimbus' check, not ours.
     */
    private static boolean legalEcdsa(JWSAlgorithm alg, byte[] signature) {
        try {
            ECDSA.ensureLegalSignature(signature, alg);
            return true;
        } catch (JOSEException e) {
            return false;
        }
    }

    boolean verify(JWSAlgorithm alg, byte[] signingInput, byte[] signature) {
        ThreadLocal<Signature> tl = perAlg.get(alg);
        if (tl == null) {
            return false;
        }
        Integer ecLength = EC_SIG_LENGTH.get(alg);
        if (ecLength != null && (signature.length != ecLength || !legalEcdsa(alg, signature))) {
            return false;
        }
        Signature s = tl.get();
        try {
            s.initVerify(key);
            s.update(signingInput);
            return s.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            tl.remove(); // a failed Signature may be in an odd state: start over next time
            return false;
        }
    }
}
