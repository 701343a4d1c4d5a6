package io.inferencepam.pam.quota;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.auth.Glob;
import io.inferencepam.runner.spi.InvalidConfException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A pam-quota route conf, parsed once per conf token (the schema has already been checked). */
public record QuotaConf(List<QuotaLimit> limits, boolean failOpen, boolean requireStreamUsage) {

    public QuotaConf {
        limits = List.copyOf(limits);
    }

    public static final String SCHEMA = """
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "additionalProperties": false,
              "required": ["limits"],
              "properties": {
                "limits": {"type": "array", "minItems": 1, "maxItems": 16, "items": {
                  "type": "object", "additionalProperties": false, "required": ["id", "window_seconds"],
                  "anyOf": [{"required": ["requests"]}, {"required": ["tokens"]}],
                  "properties": {
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                    "window_seconds": {"type": "integer", "minimum": 1, "maximum": 31622400, "$comment": "366 days"},
                    "requests": {"type": "integer", "minimum": 0, "maximum": 1000000000000},
                    "tokens": {"type": "integer", "minimum": 0, "maximum": 1000000000000000},
                    "models": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 256}},
                    "per_model": {"type": "boolean"}
                  }}},
                "fail_open": {"type": "boolean"},
                "require_stream_usage": {"type": "boolean"}
              }
            }
            """;

    public static QuotaConf parse(JsonNode c) throws InvalidConfException {
        List<QuotaLimit> limits = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (JsonNode l : c.path("limits")) {
            String id = l.path("id").asText();
            if (!ids.add(id)) {
                throw new InvalidConfException("$.limits[" + i + "].id", "duplicate limit id");
            }
            List<Glob> models = new ArrayList<>();
            for (JsonNode m : l.path("models")) {
                models.add(new Glob(m.asText()));
            }
            limits.add(new QuotaLimit(id, Duration.ofSeconds(l.path("window_seconds").asLong()),
                    l.has("requests") ? l.get("requests").asLong() : -1,
                    l.has("tokens") ? l.get("tokens").asLong() : -1,
                    models, l.path("per_model").asBoolean(false)));
            i++;
        }
        return new QuotaConf(limits, c.path("fail_open").asBoolean(false), c.path("require_stream_usage").asBoolean(true));
    }

    public boolean capsTokens() {
        return limits.stream().anyMatch(QuotaLimit::capsTokens);
    }
}
