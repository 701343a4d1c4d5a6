package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.ApiFamily;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.Pack;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether a (canonical) method and path may reach the model server: the route's own rules
 * first (first match wins), then every pack in force, then, with allow-only-inference, the family's
 * list of legitimate endpoints. Pure and immutable: one per conf, shared by every call.
 */
final class EndpointPolicy {

    /** What the policy decided about the endpoint. */
    sealed interface Verdict {
    }

    /**
     * @param endpoint    the catalogued endpoint of the route's family, if the path is one
     * @param ruleId      what allowed it ({@code custom:<id>}, {@code catalog:<family>/<endpoint>} or
     *                    {@code uncatalogued} when allow-only-inference is off)
     * @param byRouteRule a route rule allowed it explicitly
     */
    record Allowed(Optional<Endpoint> endpoint, String ruleId, boolean byRouteRule) implements Verdict {
    }

    /**
     * @param ruleId the deciding rule ({@code vllm@1/collective-rpc}, {@code custom:<id>},
     *               {@code allow-only-inference/<family>})
     * @param group  fixed-vocabulary metric label: the versioned pack, {@code custom} or {@code allow_only_inference}
     * @param code   the error code clients see
     * @param reason why, shown to the caller and recorded
     */
    record Blocked(String ruleId, String group, String code, String reason) implements Verdict {
    }

    private final ApiFamily family;
    private final List<Pack> packs;
    private final List<CustomRule> rules;
    private final boolean allowOnlyInference;

    EndpointPolicy(ApiFamily family, List<Pack> packs, List<CustomRule> rules, boolean allowOnlyInference) {
        this.family = family;
        this.packs = List.copyOf(packs);
        this.rules = List.copyOf(rules);
        this.allowOnlyInference = allowOnlyInference;
    }

    /**
     * @param method        upper-case method
     * @param segments      the canonical path's segments
     * @param lowerSegments the same, lower-cased (dangerous paths are matched in any letter case)
     */
    Verdict decide(String method, String[] segments, String[] lowerSegments) {
        for (CustomRule r : rules) {
            if (r.matches(method, segments, lowerSegments)) {
                return r.allow()
                        ? new Allowed(family.endpoint(method, segments), r.ruleId(), true)
                        : new Blocked(r.ruleId(), "custom", "endpoint_blocked", r.reason());
            }
        }
        for (Pack p : packs) {
            for (Endpoint e : p.endpoints()) {
                if (e.acceptsMethod(method) && e.path().matchesIgnoringCase(lowerSegments)) {
                    return new Blocked(p.ruleId(e), p.versioned(), "endpoint_blocked", e.reason());
                }
            }
        }
        Optional<Endpoint> endpoint = family.endpoint(method, segments);
        if (endpoint.isPresent()) {
            return new Allowed(endpoint, "catalog:" + family.id() + "/" + endpoint.get().id(), false);
        }
        if (!allowOnlyInference) {
            return new Allowed(Optional.empty(), "uncatalogued", false);
        }
        // A CORS preflight names a legitimate endpoint without calling it.
        if ("OPTIONS".equals(method) && family.endpointAnyMethod(segments).isPresent()) {
            return new Allowed(Optional.empty(), "catalog:" + family.id() + "/preflight", false);
        }
        return new Blocked("allow-only-inference/" + family.id(), "allow_only_inference", "endpoint_not_allowed",
                "this route serves only the " + family.id() + " inference, model and health endpoints, and this "
                        + "method and path is not one of them");
    }

    ApiFamily family() {
        return family;
    }
}
