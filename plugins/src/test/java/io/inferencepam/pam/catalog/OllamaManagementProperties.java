package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The Ollama management matching moved from pam-auth's OllamaNames into the catalogue: it must
 * decide exactly as the old code did. The old code is kept here, verbatim, as the oracle.
 */
class OllamaManagementProperties {
    private static final List<String> OLD_MANAGEMENT = List.of("/api/create", "/api/copy", "/api/pull", "/api/push", "/api/delete");
    private static final String OLD_BLOBS = "/api/blobs";

    private static String oldRouteKey(String path) {
        String p = path.toLowerCase(Locale.ROOT).replaceAll("/{2,}", "/");
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    private static boolean oldIsBlobs(String path) {
        String p = oldRouteKey(path);
        return p.equals(OLD_BLOBS) || p.startsWith(OLD_BLOBS + "/");
    }

    @Property(tries = 3000)
    void sameDecisionsAsBefore(@ForAll("paths") String path) {
        assertThat(OllamaApi.isModelManagement(path)).as(path)
                .isEqualTo(OLD_MANAGEMENT.contains(oldRouteKey(path)) || oldIsBlobs(path));
        assertThat(OllamaApi.isBlobs(path)).as(path).isEqualTo(oldIsBlobs(path));
        assertThat(OllamaApi.isCreate(path)).as(path).isEqualTo(oldRouteKey(path).equals("/api/create"));
        assertThat(OllamaApi.isCopy(path)).as(path).isEqualTo(oldRouteKey(path).equals("/api/copy"));
    }

    @Provide
    Arbitrary<String> paths() {
        Arbitrary<String> seg = Arbitraries.oneOf(
                Arbitraries.of("api", "API", "Api", "pull", "PULL", "push", "create", "copy", "CoPy", "delete", "blobs",
                        "BLOBS", "chat", "generate", "sha256:ab", "", ".", "..", "blobsx", "x"),
                Arbitraries.strings().withChars("aApi/bl.-_").ofMaxLength(6));
        return seg.list().ofMinSize(0).ofMaxSize(5).map(l -> "/" + String.join("/", l))
                .flatMap(p -> Arbitraries.of(p, p + "/", p + "//", "/" + p));
    }
}
