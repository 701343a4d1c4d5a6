package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Stop;
import java.util.List;
import java.util.Optional;

/**
 * pam-guard's first step, enforced in every mode: refuse a request the guard cannot read one way
 * only (a method override, a path with more than one reading) or should not read at all (a body
 * over the cap). Nothing here parses the body.
 */
final class InputHygiene {
    /** Headers some frameworks read as the real method; the gateway would then check another call than the server runs. */
    static final List<String> METHOD_OVERRIDE_VARS = List.of(
            "http_x_http_method_override", "http_x_http_method", "http_x_method_override");

    /** Why a request is refused: the rule recorded, the metric outcome, what the client gets. */
    record Refusal(String ruleId, String outcome, Stop stop) {
    }

    private InputHygiene() {
    }

    static Optional<Refusal> check(HttpRequest request, int maxBodyBytes) {
        if (hasMethodOverride(request)) {
            return Optional.of(new Refusal("hygiene:method-override", "method_override",
                    Stop.openAiError(400, "invalid_request_error", "method_override_refused",
                            "Request refused: method-override headers (X-HTTP-Method-Override, X-HTTP-Method, "
                                    + "X-Method-Override) and the _method argument are not accepted; send the real method.")));
        }
        // the target as the upstream will receive it, not APISIX's normalised request_uri
        Optional<String> raw = request.var(CanonicalPath.RAW_TARGET_VAR);
        if (raw.isEmpty()) {
            return Optional.of(new Refusal("hygiene:missing-request-uri", "non_canonical",
                    Stop.openAiError(400, "invalid_request_error", "non_canonical_path", "The request could not be checked.")));
        }
        String path = request.path();
        Optional<String> problem = CanonicalPath.problem(raw.get(), path);
        if (problem.isEmpty() && path.length() > 1 && path.endsWith("/")) {
            // servers redirect or strip it, each its own way: one reading only
            problem = Optional.of("a trailing '/' is not allowed");
        }
        if (problem.isPresent()) {
            return Optional.of(new Refusal("hygiene:non-canonical-path", "non_canonical",
                    Stop.openAiError(400, "invalid_request_error", "non_canonical_path", "Request refused: " + problem.get() + ".")));
        }
        if (request.body().orElse(Body.empty()).length() > maxBodyBytes) {
            return Optional.of(new Refusal("hygiene:max-body-bytes", "too_large",
                    Stop.openAiError(413, "invalid_request_error", "request_too_large",
                            "The request body is larger than this route accepts (" + maxBodyBytes
                                    + " bytes); send a shorter request or fewer or smaller images.")));
        }
        return Optional.empty();
    }

    private static boolean hasMethodOverride(HttpRequest request) {
        for (String v : METHOD_OVERRIDE_VARS) {
            if (request.var(v).isPresent()) {
                return true;
            }
        }
        for (Header h : request.args().entries()) {
            if (h.name().strip().equalsIgnoreCase("_method")) {
                return true;
            }
        }
        return false;
    }
}
