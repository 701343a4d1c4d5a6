package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;

/** A credential ciphertext decrypts only as the name and version it was written for. */
class CredentialCipherProperties {
    private static final CredentialCipher CIPHER = CredentialCipher.fromSetting(
            Optional.of(Base64.getEncoder().encodeToString(new byte[32]))).get().orElseThrow();

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("abcXYZ019._-").ofMinLength(1).ofMaxLength(12)
                .filter(n -> CredentialStore.NAME.matcher(n).matches());
    }

    @Property(tries = 300)
    void roundTripsForItsOwnNameAndVersion(@ForAll("names") String name, @ForAll @LongRange(min = 1, max = Long.MAX_VALUE) long version,
                                           @ForAll String secret) throws GeneralSecurityException {
        Assume.that(!secret.isEmpty());
        String ct = CIPHER.encrypt(name, version, secret);
        // Java strings may hold lone surrogates, which UTF-8 cannot carry: compare what survives encoding
        String expected = new String(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(CIPHER.decrypt(name, version, ct)).isEqualTo(expected);
    }

    @Property(tries = 300)
    void anotherVersionOrNameDoesNotDecrypt(@ForAll("names") String name, @ForAll("names") String other,
                                            @ForAll @LongRange(min = 1, max = 1_000_000) long version,
                                            @ForAll @LongRange(min = 1, max = 1_000_000) long otherVersion) {
        Assume.that(!name.equals(other) || version != otherVersion);
        String ct = CIPHER.encrypt(name, version, "sk-secret");
        assertThatThrownBy(() -> CIPHER.decrypt(other, otherVersion, ct)).isInstanceOf(GeneralSecurityException.class)
                .hasMessageNotContaining("sk-secret");
    }

    @Example
    void nameAndVersionCannotRunTogether() {
        // "a1" v1 vs "a" v11 and the like: the AAD separates them (names never contain a space)
        for (Map.Entry<String, Long> e : Map.of("a1", 1L, "a", 11L, "a11", 1L).entrySet()) {
            String ct = CIPHER.encrypt(e.getKey(), e.getValue(), "sk");
            Map.of("a1", 1L, "a", 11L, "a11", 1L).forEach((n, v) -> {
                if (!n.equals(e.getKey())) {
                    assertThatThrownBy(() -> CIPHER.decrypt(n, v, ct)).isInstanceOf(GeneralSecurityException.class);
                }
            });
        }
    }

    @Example
    void aSchema1CiphertextIsNeverAcceptedAsSchema2() throws GeneralSecurityException {
        String v2 = CIPHER.encrypt("cred", 1, "sk");
        assertThatThrownBy(() -> CIPHER.decryptSchema1("cred", v2)).isInstanceOf(GeneralSecurityException.class);
    }

    @Example
    void settingsDefaultsAndBounds() {
        CredentialCacheSettings d = CredentialCacheSettings.from(n -> Optional.empty());
        assertThat(d.refresh().toSeconds()).isEqualTo(30);
        assertThat(d.maxStale().toSeconds()).isEqualTo(300);
        Map<String, String> tight = Map.of(CredentialCacheSettings.REFRESH, "1", CredentialCacheSettings.MAX_STALE, "4");
        assertThat(CredentialCacheSettings.from(n -> Optional.ofNullable(tight.get(n))).maxStale().toSeconds()).isEqualTo(4);
        for (Map<String, String> bad : java.util.List.of(Map.of(CredentialCacheSettings.REFRESH, "0"),
                Map.of(CredentialCacheSettings.REFRESH, "x"), Map.of(CredentialCacheSettings.MAX_STALE, "10"))) {
            assertThatThrownBy(() -> CredentialCacheSettings.from(n -> Optional.ofNullable(bad.get(n))))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
