package io.inferencepam.pam.record.chain;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Optional;

/**
 * Ed25519 (JDK provider) signatures over checkpoint hashes. The private key is the runner setting
 * {@code PAM_AUDIT_SIGNING_KEY} (PKCS#8, base64) or the key pair the runner generated
 * ({@link SigningKeys}); verifiers pin the public key (X.509 SubjectPublicKeyInfo, base64). When
 * the public key is known, checkpoints name it by {@link #keyId}, so a verifier given the keys
 * of several runners knows which one to use.
 */
public final class CheckpointSigner {
    private final PrivateKey key;
    private final Optional<String> keyId;

    private CheckpointSigner(PrivateKey key, Optional<String> keyId) {
        this.key = key;
        this.keyId = keyId;
    }

    private CheckpointSigner(PrivateKey key) {
        this(key, Optional.empty());
    }

    /** This signer, naming {@code publicKey} (which must be its own: see {@link #matches}) in checkpoints. */
    public CheckpointSigner withPublicKey(PublicKey publicKey) {
        return new CheckpointSigner(key, Optional.of(keyId(publicKey)));
    }

    /** The id of this signer's public key, when known. */
    public Optional<String> keyId() {
        return keyId;
    }

    /** Whether {@code publicKey} verifies this signer's signatures. */
    public boolean matches(PublicKey publicKey) {
        String probe = HashChain.sha256Hex("pam-record key check");
        try {
            return verify(publicKey, probe, sign(probe));
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** @throws IllegalArgumentException naming the setting, never echoing the key material */
    public static CheckpointSigner fromPkcs8Base64(String base64) {
        try {
            byte[] der = Base64.getDecoder().decode(base64.trim());
            return new CheckpointSigner(KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der)));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException("PAM_AUDIT_SIGNING_KEY is not a base64 PKCS#8 Ed25519 private key");
        }
    }

    /** A signer for a key loaded elsewhere (a key store, a hardware token's provider). */
    public static CheckpointSigner of(PrivateKey key) {
        return new CheckpointSigner(key);
    }

    public static PublicKey publicKeyFromBase64(String base64) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64.trim())));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException("not a base64 X.509 Ed25519 public key");
        }
    }

    /** A new key pair: [PKCS#8 private, X.509 public], both base64. */
    public static String[] generate() {
        try {
            KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            return new String[] {Base64.getEncoder().encodeToString(kp.getPrivate().getEncoded()),
                    Base64.getEncoder().encodeToString(kp.getPublic().getEncoded())};
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public String sign(String hashHex) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(hashHex.getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    public static boolean verify(PublicKey key, String hashHex, String sigBase64) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(hashHex.getBytes(StandardCharsets.US_ASCII));
            return s.verify(Base64.getDecoder().decode(sigBase64));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return false;
        }
    }

    /** A short, stable id of a public key (first 16 hex of SHA-256 of its encoding). */
    public static String keyId(PublicKey key) {
        return HashChain.sha256Hex(key.getEncoded()).substring(0, 16);
    }
}
