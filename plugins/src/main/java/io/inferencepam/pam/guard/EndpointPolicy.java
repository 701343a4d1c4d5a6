package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.ApiFamily;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.EndpointIndex;
import io.inferencepam.pam.catalog.Pack;
import java.util.ArrayList;
import java.util.Collections;
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
    /** Every entry of every pack in force, in pack order, matched in any letter case. */
    private final EndpointIndex<Pack> dangerous;
    /** The family's legitimate endpoints, matched exactly. */
    private final EndpointIndex<Void> legitimate;
    private final List<CustomRule> rules;
    private final boolean allowOnlyInference;

    EndpointPolicy(ApiFamily family, List<Pack> packs, List<CustomRule> rules, boolean allowOnlyInference) {
        this.family = family;
        List<Endpoint> entries = new ArrayList<>();
        List<Pack> owners = new ArrayList<>();
        for (Pack p : packs) {
            for (Endpoint e : p.endpoints()) {
                entries.add(e);
                owners.add(p);
            }
        }
        this.dangerous = new EndpointIndex<>(entries, owners, true);
        this.legitimate = new EndpointIndex<>(family.endpoints(), Collections.nCopies(family.endpoints().size(), null), false);
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
                        ? new Allowed(legitimate(method, segments), r.ruleId(), true)
                        : new Blocked(r.ruleId(), "custom", "endpoint_blocked", r.reason());
            }
        }
        Optional<EndpointIndex.Entry<Pack>> hit = dangerous.first(method, lowerSegments);
        if (hit.isPresent()) {
            Pack p = hit.get().tag();
            Endpoint e = hit.get().endpoint();
            return new Blocked(p.ruleId(e), p.versioned(), "endpoint_blocked", e.reason());
        }
        Optional<Endpoint> endpoint = legitimate(method, segments);
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

    /** The family's catalogued non-dangerous endpoint for this exact method and path. */
    Optional<Endpoint> legitimate(String method, String[] segments) {
        return legitimate.first(method, segments).map(EndpointIndex.Entry::endpoint);
    }
}
