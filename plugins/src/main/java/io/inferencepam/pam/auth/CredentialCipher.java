package io.inferencepam.pam.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts upstream credentials at rest: AES-256-GCM, random 96-bit nonce, the credential name
 * <em>and version</em> as associated data, so a ciphertext copied to another name, or an old
 * version's ciphertext copied into the current version's slot, does not decrypt. The key comes from
 * the runner's own setting {@code PAM_CREDENTIAL_KEY} (base64 of 32 bytes), never from Redis.
 * Schema 1 bound the name only; {@link #decryptSchema1} exists for the one-off migration
 * ({@code pamctl credential migrate}) and is never used to serve a credential.
 */
public final class CredentialCipher {
    public static final String SETTING = "PAM_CREDENTIAL_KEY";
    private static final int NONCE = 12;
    private static final int TAG_BITS = 128;
    private final SecretKey key;
    private final String fingerprint;
    private final SecureRandom random = new SecureRandom();

    private CredentialCipher(byte[] raw) {
        this.key = new SecretKeySpec(raw, "AES");
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(concat("inference-pam key id".getBytes(StandardCharsets.UTF_8), raw));
            this.fingerprint = HexFormat.of().formatHex(d, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cipher for a configured key, or why there is none (the message never contains the key). */
    public static Result fromSetting(Optional<String> base64) {
        if (base64.isEmpty() || base64.get().isBlank()) {
            return new Result(null, SETTING + " is not set");
        }
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64.get().trim());
        } catch (IllegalArgumentException e) {
            return new Result(null, SETTING + " is not valid base64");
        }
        if (raw.length != 32) {
            return new Result(null, SETTING + " must decode to exactly 32 bytes (AES-256), got " + raw.length);
        }
        return new Result(new CredentialCipher(raw), null);
    }

    public record Result(CredentialCipher cipher, String problem) {
        public Optional<CredentialCipher> get() {
            return Optional.ofNullable(cipher);
        }
    }

    /** Identifies the key (not secret): stored next to the ciphertexts to catch a key mix-up. */
    public String fingerprint() {
        return fingerprint;
    }

    public String encrypt(String name, long version, String secret) {
        try {
            byte[] nonce = new byte[NONCE];
            random.nextBytes(nonce);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(aad(name, version));
            byte[] ct = c.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(concat(nonce, ct));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("encryption failed", e);
        }
    }

    /** Throws {@link GeneralSecurityException} if the ciphertext was altered or another key, name or version was used. */
    public String decrypt(String name, long version, String stored) throws GeneralSecurityException {
        return decrypt(aad(name, version), stored);
    }

    /** A schema-1 ciphertext (name-only AAD): for the migration only, never to serve a credential. */
    public String decryptSchema1(String name, String stored) throws GeneralSecurityException {
        return decrypt(("inference-pam credential " + name).getBytes(StandardCharsets.UTF_8), stored);
    }

    private String decrypt(byte[] aad, String stored) throws GeneralSecurityException {
        byte[] all;
        try {
            all = Base64.getDecoder().decode(stored);
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("stored credential is not base64");
        }
        if (all.length < NONCE + TAG_BITS / 8) {
            throw new GeneralSecurityException("stored credential is too short");
        }
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, all, 0, NONCE));
        c.updateAAD(aad);
        byte[] pt = c.doFinal(all, NONCE, all.length - NONCE);
        return new String(pt, StandardCharsets.UTF_8);
    }

    /** Names never contain a space (see {@link CredentialStore#NAME}), so name and version cannot run together. */
    private static byte[] aad(String name, long version) {
        return ("inference-pam credential v2 " + name + " " + version).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public String toString() {
        return "CredentialCipher[" + fingerprint + "]";
    }
}
