package io.inferencepam.runner.spi;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The runner's loopback HTTP control API. Features register endpoints here; handlers run off the
 * event loop. The API binds to loopback only; people reach it through an APISIX route protected
 * by pam-auth.
 */
public interface ControlApi {

    /**
     * Registers {@code handler} for {@code method} and a path. A path ending in {@code /*} matches
     * every path under that prefix.
     */
    void route(String method, String path, Handler handler);

    @FunctionalInterface
    interface Handler {
        CompletionStage<Response> handle(Request request) throws Exception;
    }

    record Request(String method, String path, Map<String, String> query, Headers headers, Body body) {
        public String queryParam(String name, String fallback) {
            return query.getOrDefault(name, fallback);
        }
    }

    record Response(int status, String contentType, Body body) {
        public static Response json(int status, String json) {
            return new Response(status, "application/json", Body.utf8(json));
        }

        /**
         * Every control API error has the data plane's shape, {@code {"error":{"message","type","code"}}}:
         * scripts branch on {@code code}; {@code type} follows the status as OpenAI's API does.
         */
        public static Response error(int status, String code, String message) {
            return json(status, OpenAiError.json(errorType(status), code, message == null ? code : message));
        }

        static String errorType(int status) {
            return switch (status) {
                case 401 -> "authentication_error";
                case 403 -> "permission_error";
                case 404 -> "not_found_error";
                default -> status >= 500 ? "api_error" : "invalid_request_error";
            };
        }

        public static Response text(int status, String text) {
            return new Response(status, "text/plain; charset=utf-8", Body.utf8(text));
        }
    }
}
