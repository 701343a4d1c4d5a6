package io.inferencepam.pam.catalog;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What one kind of model server exposes: its inference, model-info and model-free endpoints (the
 * ones a client of the gateway legitimately calls), and the pack of its dangerous endpoints.
 *
 * @param id              the name in route conf ({@code vllm})
 * @param checked         the server versions and sources this was checked against
 * @param endpoints       the non-dangerous endpoints, first match wins
 * @param pack            this family's own dangerous endpoints (other packs may apply too)
 * @param caseInsensitive true when the server matches paths in any letter case (none of the
 *                        families checked does; the guard matches dangerous paths in any case anyway)
 */
public record ApiFamily(String id, String checked, List<Endpoint> endpoints, Pack pack, boolean caseInsensitive) {
    public ApiFamily {
        endpoints = List.copyOf(endpoints);
        Set<String> ids = new HashSet<>();
        for (Endpoint e : endpoints) {
            if (e.kind() == Endpoint.Kind.DANGEROUS) {
                throw new IllegalArgumentException(id + ": dangerous endpoint " + e.id() + " belongs in the pack");
            }
            if (!ids.add(e.id())) {
                throw new IllegalArgumentException(id + ": duplicate endpoint " + e.id());
            }
        }
    }

    /** The catalogued non-dangerous endpoint for this exact method and path (case-sensitive). */
    public Optional<Endpoint> endpoint(String method, String[] pathSegments) {
        for (Endpoint e : endpoints) {
            if (e.acceptsMethod(method) && e.path().matches(pathSegments)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** Same path, any method: for telling "wrong method" from "unknown path". */
    public Optional<Endpoint> endpointAnyMethod(String[] pathSegments) {
        for (Endpoint e : endpoints) {
            if (e.path().matches(pathSegments)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }
}
