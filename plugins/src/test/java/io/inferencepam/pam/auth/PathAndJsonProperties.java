package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Property tests: path normalisation and JSON model extraction under adversarial input. */
class PathAndJsonProperties {
    static final ModelResolver KSERVE = new ModelResolver(ModelApi.KSERVE, "", Set.of(), List.of("model"));
    static final ModelResolver OPENAI = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"));

    @Provide
    Arbitrary<String> hostilePaths() {
        Arbitrary<String> pieces = Arbitraries.of("v2", "V2", "models", "Models", "a", "b", "resnet", ".", "..", "", "%2F", "%2f",
                "%2e", "%2E%2E", "%252F", "%25", ";x=1", "\\", "%00", "infer", "versions", "1", "~", " ", "é", "%5C", "%u002e");
        Arbitrary<String> anywhere = pieces.list().ofMinSize(1).ofMaxSize(8).map(l -> "/" + String.join("/", l));
        // Half start like a real KServe path, so the "resolved" branch is exercised, not just reached by luck.
        Arbitrary<String> kserveLike = pieces.list().ofMinSize(1).ofMaxSize(5).map(l -> "/v2/models/" + String.join("/", l));
        return Arbitraries.oneOf(anywhere, kserveLike);
    }

    /** nginx-like: what $uri would be after decoding (and merging of dot segments is not simulated). */
    static String decoded(String raw) {
        try {
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }

    @Property(tries = 2000)
    void whateverTheRawPathAResolvedModelIsTheLiteralSegmentOfACanonicalPath(@ForAll("hostilePaths") String raw) {
        ModelOutcome o = KSERVE.resolve(new ModelRequest("POST", decoded(raw), Optional.of(raw), Headers.empty(),
                Optional.empty(), List.of(), Optional.empty()));
        net.jqwik.api.statistics.Statistics.label("resolved").collect(o instanceof ModelOutcome.Resolved)
                .coverage(c -> c.check(true).percentage(p -> p > 3.0));
        if (o instanceof ModelOutcome.Resolved r) {
            // accepted paths are plain: no encoding, no dot or empty segments, lower-case prefix, decode(raw) == raw
            assertThat(raw).doesNotContain("%", "\\", ";", "/./", "/../", "//", " ").startsWith("/v2/models/");
            assertThat(decoded(raw)).isEqualTo(raw);
            assertThat(r.model()).isNotIn(".", "..").doesNotContain("/");
            assertThat(raw).startsWith("/v2/models/" + r.model());
        }
    }

    @Property(tries = 1000)
    void canonicalPathIsIdempotentOnAcceptedInput(@ForAll("printable") String s) {
        String raw = "/" + s;
        boolean accepted = CanonicalPath.problem(raw, raw).isEmpty();
        net.jqwik.api.statistics.Statistics.label("accepted").collect(accepted)
                .coverage(c -> c.check(true).percentage(p -> p > 5.0));
        if (accepted) {
            for (char c : raw.toCharArray()) {
                assertThat(c).isBetween('!', '~').isNotIn('%', '\\', ';');
            }
        }
    }

    @Provide
    Arbitrary<String> printable() {
        return Arbitraries.strings().withCharRange('!', '~').ofMaxLength(40);
    }

    @Provide
    Arbitrary<String> modelNames() {
        // a comma is refused in any model name (AdapterSelectorTest): a name round-trips without one
        return Arbitraries.strings().withCharRange(' ', '~').excludeChars(',').ofMinLength(1).ofMaxLength(40);
    }

    @Property(tries = 1000)
    void jsonModelRoundTripsThroughAnyEscaping(@ForAll("modelNames") String model, @ForAll boolean escapeAll) {
        StringBuilder q = new StringBuilder("\"");
        for (char c : model.toCharArray()) {
            if (escapeAll || c == '"' || c == '\\') {
                q.append(String.format("\\u%04x", (int) c));
            } else {
                q.append(c);
            }
        }
        q.append('"');
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":" + q + ",\"stream\":false}";
        ModelOutcome o = OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"),
                Headers.empty(), Optional.of("application/json"), List.of(), Optional.of(Body.utf8(body))));
        assertThat(o).isEqualTo(new ModelOutcome.Resolved(model));
    }

    @Property(tries = 1000)
    void anyTwoModelFieldsAreRefusedWhateverTheirValues(@ForAll("modelNames") String a, @ForAll("modelNames") String b,
                                                        @ForAll boolean nestedFirst) {
        String qa = "\"" + a.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        String qb = "\"" + b.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        String body = nestedFirst
                ? "{\"model\":" + qa + ",\"x\":{\"y\":1},\"model\":" + qb + "}"
                : "{\"model\":" + qa + ",\"model\":" + qb + "}";
        ModelOutcome o = OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"),
                Headers.empty(), Optional.of("application/json"), List.of(), Optional.of(Body.utf8(body))));
        assertThat(o).isInstanceOf(ModelOutcome.Refused.class);
    }

    @Property(tries = 500)
    void arbitraryBytesNeverResolveUnlessValidJsonObjectWithModel(@ForAll byte[] bytes) {
        ModelOutcome o = OPENAI.resolve(new ModelRequest("POST", "/v1/chat/completions", Optional.of("/v1/chat/completions"),
                Headers.empty(), Optional.of("application/json"), List.of(), Optional.of(Body.wrap(bytes))));
        assertThat(o).isInstanceOf(ModelOutcome.Refused.class);
    }
}
