package io.inferencepam.pam.catalog;

import java.util.List;
import java.util.Optional;

/**
 * The API catalogue: every model-server family the plugins know, and every built-in pack of
 * dangerous endpoints. One file per family ({@link OpenAiApi}, {@link VllmApi}, {@link SglangApi},
 * {@link LiteLlmApi}, {@link OllamaApi}, {@link KServeApi}, {@link TgiApi}, {@link TorchServeApi});
 * each names the server versions it was checked against.
 */
public final class Catalog {
    /** Every family, by the name routes use. */
    public static final List<ApiFamily> FAMILIES = List.of(OpenAiApi.FAMILY, VllmApi.FAMILY, SglangApi.FAMILY,
            OllamaApi.FAMILY, KServeApi.FAMILY, TgiApi.FAMILY, TorchServeApi.FAMILY);

    /** Every built-in pack, in the order pam-guard consults them. */
    public static final List<Pack> PACKS = List.of(VllmApi.PACK, SglangApi.PACK, OpenAiApi.PACK, LiteLlmApi.PACK,
            OllamaApi.PACK, KServeApi.PACK, TgiApi.PACK, TorchServeApi.PACK);

    private Catalog() {
    }

    public static Optional<ApiFamily> family(String id) {
        return FAMILIES.stream().filter(f -> f.id().equals(id)).findFirst();
    }

    public static Optional<Pack> pack(String id) {
        return PACKS.stream().filter(p -> p.id().equals(id)).findFirst();
    }
}
