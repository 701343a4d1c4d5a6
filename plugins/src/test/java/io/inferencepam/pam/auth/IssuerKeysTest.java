package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IssuerKeysTest {

    @Test
    void aShortRsaModulusPaddedWithLeadingZeroBytesIsRefused() throws Exception {
        RSAKey weak = new RSAKeyGenerator(1536, true).keyID("weak").generate();
        byte[] modulus = weak.getModulus().decode(); // 192 bytes (1024 bits would already fail the PS512 probe)
        byte[] padded = new byte[256];
        System.arraycopy(modulus, 0, padded, 256 - modulus.length, modulus.length);
        RSAKey disguised = new RSAKey.Builder(Base64URL.encode(padded), weak.getPublicExponent()).keyID("weak").build();
        assertThat(disguised.size()).isEqualTo(2048); // what the old check looked at
        assertThat(IssuerKeys.toVerifyKey(disguised)).isEmpty();
        assertThat(IssuerKeys.toVerifyKey(weak.toPublicJWK())).isEmpty();
    }

    @Test
    void a2048BitKeyIsAccepted() throws Exception {
        RSAKey ok = new RSAKeyGenerator(2048).keyID("ok").generate();
        assertThat(IssuerKeys.toVerifyKey(ok.toPublicJWK())).isPresent();
        byte[] m = ok.getModulus().decode();
        assertThat(Arrays.copyOf(m, 1)[0]).isNotEqualTo((byte) 0);
    }
}
