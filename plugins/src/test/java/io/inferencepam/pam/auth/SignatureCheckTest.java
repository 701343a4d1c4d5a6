package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * ECDSA r and s must lie in [1, n−1] before the JRE is asked (CVE-2022-21449: JREs 15–18 before the
 * April 2022 patches accepted r = s = 0 for any message and key). Checked here whatever the JRE does,
 * by counting the calls that reach the JCA {@code Signature.verify}.
 */
class SignatureCheckTest {
    private static final byte[] INPUT = "header.payload".getBytes(StandardCharsets.US_ASCII);

    /** r‖s, each left-padded to {@code half} bytes (values ≥ 2^(8·half) are not representable and not asked for). */
    static byte[] rs(BigInteger r, BigInteger s, int half) {
        byte[] out = new byte[2 * half];
        put(r, out, 0, half);
        put(s, out, half, half);
        return out;
    }

    private static void put(BigInteger v, byte[] out, int at, int half) {
        byte[] b = v.toByteArray();
        int skip = b.length > half ? b.length - half : 0; // a sign byte
        System.arraycopy(b, skip, out, at + half - (b.length - skip), b.length - skip);
    }

    record Case(JWSAlgorithm alg, Curve curve, int half) {
    }

    private static final Case[] CASES = {
        new Case(JWSAlgorithm.ES256, Curve.P_256, 32),
        new Case(JWSAlgorithm.ES384, Curve.P_384, 48),
        new Case(JWSAlgorithm.ES512, Curve.P_521, 66)};

    @Test
    void rOrSOutsideOneToNMinusOneNeverReachesTheJca() throws Exception {
        for (Case c : CASES) {
            ECKey key = new ECKeyGenerator(c.curve()).generate();
            AtomicInteger jcaVerifies = new AtomicInteger();
            SignatureCheck check = new SignatureCheck(key.toECPublicKey(), Set.of(c.alg()), name -> new Counting(name, jcaVerifies));
            BigInteger n = c.curve().toECParameterSpec().getOrder();
            BigInteger one = BigInteger.ONE;
            BigInteger[][] outside = {
                {BigInteger.ZERO, BigInteger.ZERO}, {BigInteger.ZERO, one}, {one, BigInteger.ZERO},
                {n, n}, {n, one}, {one, n}, {n.add(one), one}, {one, n.add(one)},
                {BigInteger.TWO.pow(8 * c.half()).subtract(one), one}};
            for (BigInteger[] v : outside) {
                assertThat(check.verify(c.alg(), INPUT, rs(v[0], v[1], c.half()))).as("%s r=%s s=%s", c.alg(), v[0], v[1]).isFalse();
            }
            assertThat(jcaVerifies.get()).as("%s: JCA verify calls for out-of-range r/s", c.alg()).isZero();

            // in range but wrong: the JCA is asked (and says no); a real signature passes
            assertThat(check.verify(c.alg(), INPUT, rs(n.subtract(one), one, c.half()))).isFalse();
            assertThat(check.verify(c.alg(), INPUT, rs(one, n.subtract(one), c.half()))).isFalse();
            assertThat(jcaVerifies.get()).isEqualTo(2);
            assertThat(check.verify(c.alg(), INPUT, sign(key.toECPrivateKey(), c.alg()))).isTrue();
            assertThat(jcaVerifies.get()).isEqualTo(3);
        }
    }

    private static byte[] sign(PrivateKey key, JWSAlgorithm alg) throws Exception {
        String name = switch (alg.getName()) {
            case "ES256" -> "SHA256withECDSAinP1363Format";
            case "ES384" -> "SHA384withECDSAinP1363Format";
            default -> "SHA512withECDSAinP1363Format";
        };
        Signature s = Signature.getInstance(name);
        s.initSign(key);
        s.update(INPUT);
        return s.sign();
    }

    /** The JDK's own Signature, with the verify calls counted. */
    static final class Counting extends Signature {
        private final Signature real;
        private final AtomicInteger verifies;

        Counting(String name, AtomicInteger verifies) throws java.security.GeneralSecurityException {
            super(name);
            this.real = Signature.getInstance(name);
            this.verifies = verifies;
        }

        @Override
        protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
            real.initVerify(publicKey);
        }

        @Override
        protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
            real.initSign(privateKey);
        }

        @Override
        protected void engineUpdate(byte b) throws SignatureException {
            real.update(b);
        }

        @Override
        protected void engineUpdate(byte[] b, int off, int len) throws SignatureException {
            real.update(b, off, len);
        }

        @Override
        protected byte[] engineSign() throws SignatureException {
            return real.sign();
        }

        @Override
        protected boolean engineVerify(byte[] sigBytes) throws SignatureException {
            verifies.incrementAndGet();
            return real.verify(sigBytes);
        }

        @Override
        protected void engineSetParameter(AlgorithmParameterSpec params) throws java.security.InvalidAlgorithmParameterException {
            real.setParameter(params);
        }

        @Override
        @Deprecated
        protected void engineSetParameter(String param, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        @Deprecated
        protected Object engineGetParameter(String param) {
            throw new UnsupportedOperationException();
        }
    }
}
