package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The index finds exactly what a first-match scan of the list finds. */
class EndpointIndexProperties {
    static final List<Endpoint> DANGEROUS = new ArrayList<>();
    static final List<Endpoint> LEGIT = new ArrayList<>();
    static final List<String> SEGMENTS = new ArrayList<>(List.of("x", "X", "m1", "", "**"));

    static {
        Catalog.PACKS.forEach(p -> DANGEROUS.addAll(p.endpoints()));
        Catalog.FAMILIES.forEach(f -> LEGIT.addAll(f.endpoints()));
        for (Endpoint e : DANGEROUS) {
            SEGMENTS.addAll(Arrays.asList(PathPattern.segments(e.path().toString())));
        }
        for (Endpoint e : LEGIT) {
            SEGMENTS.addAll(Arrays.asList(PathPattern.segments(e.path().toString())));
        }
    }

    static final EndpointIndex<Void> DANGEROUS_INDEX = new EndpointIndex<>(DANGEROUS, Collections.nCopies(DANGEROUS.size(), null), true);
    static final EndpointIndex<Void> LEGIT_INDEX = new EndpointIndex<>(LEGIT, Collections.nCopies(LEGIT.size(), null), false);

    static Optional<Endpoint> scan(List<Endpoint> list, String method, String[] segments, boolean ignoreCase) {
        for (Endpoint e : list) {
            if (e.acceptsMethod(method) && (ignoreCase ? e.path().matchesIgnoringCase(segments) : e.path().matches(segments))) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    @Property(tries = 5000)
    void sameAsAScan(@ForAll("methods") String method, @ForAll("paths") String path) {
        String[] segments = PathPattern.segments(path);
        String[] lower = PathPattern.lower(segments);
        assertThat(DANGEROUS_INDEX.first(method, lower).map(EndpointIndex.Entry::endpoint))
                .isEqualTo(scan(DANGEROUS, method, lower, true));
        assertThat(LEGIT_INDEX.first(method, segments).map(EndpointIndex.Entry::endpoint))
                .isEqualTo(scan(LEGIT, method, segments, false));
    }

    @Provide
    Arbitrary<String> methods() {
        return Arbitraries.of("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS");
    }

    @Provide
    Arbitrary<String> paths() {
        return Arbitraries.of(SEGMENTS).map(s -> s.replace("*", "m")).list().ofMaxSize(6)
                .map(l -> "/" + String.join("/", l));
    }
}
