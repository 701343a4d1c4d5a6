package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** Two calls share a fingerprint only if every part is byte-for-byte the same. */
class FingerprintProperties {

    record Parts(String route, String method, String path, List<Header> args, String model, byte[] body) {
        String fingerprint() {
            return Fingerprint.of(route, method, path, Headers.of(args), model, ByteBuffer.wrap(body));
        }

        boolean sameAs(Parts o) {
            return route.equals(o.route) && method.equals(o.method) && path.equals(o.path) && args.equals(o.args)
                    && model.equals(o.model) && java.util.Arrays.equals(body, o.body);
        }
    }

    @Provide
    Arbitrary<Parts> parts() {
        Arbitrary<String> small = Arbitraries.strings().withChars("ab/=:{}\"\n ").ofMaxLength(4);
        Arbitrary<Header> arg = Combinators.combine(small, small.injectNull(0.3)).as(Header::new);
        return Combinators.combine(small, Arbitraries.of("POST", "GET"), small, arg.list().ofMaxSize(2), small,
                small.map(s -> s.getBytes(StandardCharsets.UTF_8))).as(Parts::new);
    }

    @Property(tries = 3000)
    void differentCallsHaveDifferentFingerprints(@ForAll("parts") Parts a, @ForAll("parts") Parts b) {
        assertThat(a.fingerprint().equals(b.fingerprint())).isEqualTo(a.sameAs(b));
    }

    @Test
    void boundariesBetweenPartsMatter() {
        ByteBuffer empty = ByteBuffer.allocate(0);
        assertThat(Fingerprint.of("r", "POST", "/v1/a", Headers.empty(), "m", empty))
                .isNotEqualTo(Fingerprint.of("r", "POST", "/v1/", Headers.empty(), "am", empty));
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(List.of(new Header("flag", null))), "m", empty))
                .as("bare ?flag vs ?flag=")
                .isNotEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(new Header("flag", ""))), "m", empty));
        List<Header> ab = new ArrayList<>(List.of(new Header("a", "1"), new Header("b", "2")));
        List<Header> ba = new ArrayList<>(List.of(new Header("b", "2"), new Header("a", "1")));
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(ab), "m", empty))
                .isNotEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(ba), "m", empty));
        assertThat(Fingerprint.of("route-a", "POST", "/", Headers.empty(), "m", ByteBuffer.wrap(new byte[] {1})))
                .isNotEqualTo(Fingerprint.of("route-b", "POST", "/", Headers.empty(), "m", ByteBuffer.wrap(new byte[] {1})));
    }
}
