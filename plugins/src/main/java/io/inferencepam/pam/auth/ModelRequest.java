package io.inferencepam.pam.auth;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import java.util.List;
import java.util.Optional;

/**
 * What model resolution looks at, taken from the call.
 *
 * @param method        HTTP method
 * @param path          the path as nginx decoded and normalised it ({@code $uri})
 * @param rawRequestUri the path and query exactly as the client sent them and the upstream receives them
 *                      (nginx's {@code $request_uri}, which APISIX 3.18 exposes as {@code real_request_uri}:
 *                      {@link io.inferencepam.pam.catalog.CanonicalPath#RAW_TARGET_VAR}); empty if APISIX did not send it
 * @param args          decoded query arguments
 * @param contentType   the {@code Content-Type} header ({@code $http_content_type}), empty if absent
 * @param headerModels  values of the configured model headers, as (header name, value)
 * @param body          the request body, if fetched
 */
public record ModelRequest(String method, String path, Optional<String> rawRequestUri, Headers args,
                           Optional<String> contentType, List<NamedValue> headerModels, Optional<Body> body) {

    public ModelRequest {
        headerModels = List.copyOf(headerModels);
    }

    public record NamedValue(String name, String value) {
    }
}
