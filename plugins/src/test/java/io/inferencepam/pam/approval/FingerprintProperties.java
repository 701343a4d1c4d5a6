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
            return route.equals(o.route) && method.equals(o.method) && path.equals(o.path) && byName(args).equals(byName(o.args))
                    && model.equals(o.model) && java.util.Arrays.equals(body, o.body);
        }
    }

    /** The arguments as APISIX could send them after a reload: sorted by name, repeated names in their order. */
    static List<Header> byName(List<Header> args) {
        List<Header> sorted = new ArrayList<>(args);
        sorted.sort(java.util.Comparator.comparing(Header::name));
        return sorted;
    }

    @Provide
    Arbitrary<Parts> parts() {
        Arbitrary<String> small = Arbitraries.strings().withChars("ab/=:{}\"\n ").ofMaxLength(4);
        Arbitrary<Header> arg = Combinators.combine(small, small.injectNull(0.3)).as(Header::new);
        return Combinators.combine(small, Arbitraries.of("POST", "GET"), small, arg.list().ofMaxSize(3), small,
                small.map(s -> s.getBytes(StandardCharsets.UTF_8))).as(Parts::new);
    }

    @Property(tries = 3000)
    void differentCallsHaveDifferentFingerprints(@ForAll("parts") Parts a, @ForAll("parts") Parts b) {
        assertThat(a.fingerprint().equals(b.fingerprint())).isEqualTo(a.sameAs(b));
    }

    static final String V1_A1_B2 = "1508e253b6531794da5a23db622b4e1934b0ceac7c53f40355a5103d042bdc17";

    @Test
    void boundariesBetweenPartsMatter() {
        ByteBuffer empty = ByteBuffer.allocate(0);
        assertThat(Fingerprint.of("r", "POST", "/v1/a", Headers.empty(), "m", empty))
                .isNotEqualTo(Fingerprint.of("r", "POST", "/v1/", Headers.empty(), "am", empty));
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(List.of(new Header("flag", null))), "m", empty))
                .as("bare ?flag vs ?flag=")
                .isNotEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(new Header("flag", ""))), "m", empty));
        assertThat(Fingerprint.of("route-a", "POST", "/", Headers.empty(), "m", ByteBuffer.wrap(new byte[] {1})))
                .isNotEqualTo(Fingerprint.of("route-b", "POST", "/", Headers.empty(), "m", ByteBuffer.wrap(new byte[] {1})));
    }

    /**
     * APISIX sends query arguments in Lua hash order, which is not stable between runs (conformance
     * recordings): after a reload the identical call arrives with its arguments in another order.
     * Repeated names keep their relative order (it is the query's, and servers read it).
     */
    @Test
    void theOrderOfDifferentArgumentNamesDoesNotMatterTheOrderOfRepeatedOnesDoes() {
        ByteBuffer empty = ByteBuffer.allocate(0);
        Header a1 = new Header("a", "1");
        Header b2 = new Header("b", "2");
        Header c = new Header("c", null);
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(List.of(a1, b2, c)), "m", empty))
                .isEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(c, b2, a1)), "m", empty))
                .isEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(b2, a1, c)), "m", empty));
        Header a2 = new Header("a", "2");
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(List.of(a1, b2, a2)), "m", empty))
                .as("repeated names, same relative order")
                .isEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(b2, a1, a2)), "m", empty))
                .as("repeated names, other relative order")
                .isNotEqualTo(Fingerprint.of("r", "GET", "/", Headers.of(List.of(a2, b2, a1)), "m", empty));
    }

    /** Pending approvals made before the sort keep matching when their arguments were already in name order. */
    @Test
    void argumentsAlreadyInNameOrderKeepTheirFingerprint() {
        // the v1 fingerprint of GET /?a=1&b=2 on route r, model m, no body, as main computed it before the sort
        assertThat(Fingerprint.of("r", "GET", "/", Headers.of(List.of(new Header("a", "1"), new Header("b", "2"))), "m",
                ByteBuffer.allocate(0))).isEqualTo(V1_A1_B2);
    }
}
