package io.inferencepam.runner.spi;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the runtime must ask APISIX for (RPC_EXTRA_INFO) before a plugin runs. The runtime merges
 * the requirements of every plugin in a conf once, at PrepareConf, and asks for all of them in one
 * pipelined batch per call.
 *
 * @param vars         nginx/APISIX variables, e.g. {@code http_authorization}, {@code request_id}
 * @param requestBody  the whole request body (request phase only)
 * @param responseBody the whole upstream body (response phase only; APISIX buffers it)
 */
public record Requirements(Set<String> vars, boolean requestBody, boolean responseBody) {
    public static final Requirements NONE = new Requirements(Set.of(), false, false);

    public Requirements {
        vars = Collections.unmodifiableSet(new LinkedHashSet<>(vars));
    }

    public static Requirements vars(String... names) {
        return new Requirements(new LinkedHashSet<>(List.of(names)), false, false);
    }

    public Requirements withRequestBody() {
        return new Requirements(vars, true, responseBody);
    }

    public Requirements withResponseBody() {
        return new Requirements(vars, requestBody, true);
    }

    public Requirements plus(Requirements other) {
        Set<String> merged = new LinkedHashSet<>(vars);
        merged.addAll(other.vars);
        return new Requirements(merged, requestBody || other.requestBody, responseBody || other.responseBody);
    }
}
