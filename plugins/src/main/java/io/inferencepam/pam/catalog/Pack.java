package io.inferencepam.pam.catalog;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A versioned list of dangerous endpoints of one server family, denied by pam-guard unless a route
 * disables the pack. The version changes whenever an entry is added, removed or changes meaning, and
 * is part of every rule id ({@code vllm@1/collective-rpc}), so an audit record says which list decided.
 *
 * @param id        pack name in route conf ({@code vllm})
 * @param version   1, 2, …
 * @param checked   the server versions and sources the entries were checked against
 * @param endpoints the dangerous endpoints, each with its reason
 */
public record Pack(String id, int version, String checked, List<Endpoint> endpoints) {
    public Pack {
        endpoints = List.copyOf(endpoints);
        Set<String> ids = new HashSet<>();
        for (Endpoint e : endpoints) {
            if (e.kind() != Endpoint.Kind.DANGEROUS) {
                throw new IllegalArgumentException(id + ": " + e.id() + " is not a dangerous endpoint");
            }
            if (!ids.add(e.id())) {
                throw new IllegalArgumentException(id + ": duplicate entry " + e.id());
            }
        }
    }

    /** {@code vllm@1} */
    public String versioned() {
        return id + "@" + version;
    }

    /** {@code vllm@1/collective-rpc} */
    public String ruleId(Endpoint e) {
        return versioned() + "/" + e.id();
    }
}
