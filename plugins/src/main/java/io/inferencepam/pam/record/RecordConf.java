package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * One route's pam-record conf.
 *
 * @param failClosed        refuse the call (503) in the request phase when no record could be made durable
 * @param requestBody       record the request body
 * @param responseBody      record the delivered response body
 * @param maxBodyBytes      bodies longer than this are cut (the size and SHA-256 of the whole body are kept)
 * @param responseTimeoutMs how long a call recorded in the request phase waits for its response phase
 * @param scrubHeaders      header names (lower-case) never recorded, on top of the built-in list
 * @param scrubArgs         query argument names whose values are never recorded
 */
public record RecordConf(boolean failClosed, boolean requestBody, boolean responseBody, int maxBodyBytes,
                         long responseTimeoutMs, Set<String> scrubHeaders, Set<String> scrubArgs) {

    /** Credentials and session state: never recorded whatever the conf says. */
    public static final Set<String> ALWAYS_SCRUBBED_HEADERS = Set.of("authorization", "proxy-authorization", "cookie",
            "set-cookie", "x-api-key", "api-key", "x-auth-token", "x-goog-api-key", "ocp-apim-subscription-key");
    public static final Set<String> ALWAYS_SCRUBBED_ARGS = Set.of("api_key", "apikey", "access_token", "token", "key", "sig",
            "signature", "code");

    public static final String SCHEMA = """
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "fail_closed": {"type": "boolean", "default": false},
                "request_body": {"type": "boolean", "default": true},
                "response_body": {"type": "boolean", "default": true},
                "max_body_bytes": {"type": "integer", "minimum": 0, "maximum": 16777215, "default": 1048576},
                "response_timeout_ms": {"type": "integer", "minimum": 100, "maximum": 600000, "default": 70000},
                "scrub_headers": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": true},
                "scrub_args": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": true},
                "sink": {"enum": ["redis", "file"]}
              }
            }
            """;

    public static RecordConf from(JsonNode c) {
        Set<String> headers = new TreeSet<>(ALWAYS_SCRUBBED_HEADERS);
        c.path("scrub_headers").forEach(n -> headers.add(n.asText().toLowerCase(Locale.ROOT)));
        Set<String> args = new TreeSet<>(ALWAYS_SCRUBBED_ARGS);
        c.path("scrub_args").forEach(n -> args.add(n.asText().toLowerCase(Locale.ROOT)));
        return new RecordConf(c.path("fail_closed").asBoolean(false), c.path("request_body").asBoolean(true),
                c.path("response_body").asBoolean(true), c.path("max_body_bytes").asInt(1 << 20),
                c.path("response_timeout_ms").asLong(70_000), Set.copyOf(headers), Set.copyOf(args));
    }

    public boolean scrubsHeader(String name) {
        return scrubHeaders.contains(name.toLowerCase(Locale.ROOT));
    }

    public boolean scrubsArg(String name) {
        return scrubArgs.contains(name.toLowerCase(Locale.ROOT));
    }
}
