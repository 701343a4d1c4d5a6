package io.inferencepam.pam.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import io.inferencepam.runner.spi.InvalidConfException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** A pam-auth route conf, parsed once per conf token (the schema has already been checked). */
public record AuthConf(
        String issuer,
        Optional<URI> jwksUri,
        Set<String> audiences,
        Set<JWSAlgorithm> algorithms,
        Duration clockSkew,
        Set<String> requiredScopes,
        List<String> groupsClaims,
        String usernameClaim,
        List<String> clientClaims,
        Duration jwksRefresh,
        Duration jwksMinRefresh,
        int maxTokenBytes,
        ModelApi api,
        String fixedModel,
        Set<String> modelFreePaths,
        List<String> modelQueryArgs,
        List<String> modelHeaders,
        int maxBodyBytes,
        List<EntitlementRule> entitlements,
        int denyStatus,
        Optional<String> upstreamCredential,
        String credentialHeader,
        boolean requireAccessTokenType,
        boolean ollamaManagement) {

    /**
     * Largest request body read for the model by default: 8 MiB holds a long context (128k tokens
     * are about 0.5 MB of text) together with base64 images (a 12-megapixel photo is about 5 MB
     * encoded; SDKs usually send smaller), and bounds the worst-case scan of one call to tens of ms.
     */
    public static final int DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

    public static final String SCHEMA = """
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "additionalProperties": false,
              "required": ["issuer", "audiences"],
              "properties": {
                "issuer": {"type": "string", "pattern": "^https?://", "maxLength": 512},
                "jwks_uri": {"type": "string", "pattern": "^https?://", "maxLength": 1024},
                "audiences": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                "allowed_algs": {"type": "array", "minItems": 1, "uniqueItems": true,
                  "items": {"enum": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]}},
                "clock_skew_seconds": {"type": "integer", "minimum": 0, "maximum": 300},
                "required_scopes": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "groups_claims": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "username_claim": {"type": "string", "minLength": 1},
                "client_claims": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "jwks_refresh_seconds": {"type": "integer", "minimum": 30, "maximum": 86400},
                "jwks_min_refresh_seconds": {"type": "integer", "minimum": 1, "maximum": 3600},
                "max_token_bytes": {"type": "integer", "minimum": 512, "maximum": 65536},
                "api": {"enum": ["openai", "ollama", "kserve", "fixed"]},
                "fixed_model": {"type": "string", "minLength": 1, "maxLength": 256},
                "model_free_paths": {"type": "array", "items": {"type": "string", "pattern": "^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) /"}},
                "model_query_args": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "model_headers": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"}},
                "max_body_bytes": {"type": "integer", "minimum": 1024, "maximum": 16777215},
                "entitlements": {"type": "array", "items": {
                  "type": "object", "additionalProperties": false, "required": ["id"],
                  "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "groups": {"type": "array", "items": {"type": "string"}},
                    "subjects": {"type": "array", "items": {"type": "string"}},
                    "clients": {"type": "array", "items": {"type": "string"}},
                    "allow": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "deny": {"type": "array", "items": {"type": "string", "minLength": 1}}
                  }}},
                "deny_status": {"enum": [403, 404]},
                "upstream_credential": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
                "credential_header": {"enum": ["authorization", "api-key", "x-api-key"]},
                "require_access_token_type": {"type": "boolean"},
                "ollama_management": {"type": "boolean"}
              }
            }
            """;

    public static AuthConf parse(JsonNode c) throws InvalidConfException {
        ModelApi api = ModelApi.valueOf(c.path("api").asText("openai").toUpperCase(Locale.ROOT));
        String fixed = c.path("fixed_model").asText("");
        if (api == ModelApi.FIXED && fixed.isEmpty()) {
            throw new InvalidConfException("$.fixed_model", "required when api is \"fixed\"");
        }
        Set<JWSAlgorithm> algs = new LinkedHashSet<>();
        for (String a : strings(c, "allowed_algs", List.of("RS256", "PS256", "ES256", "EdDSA"))) {
            algs.add(JWSAlgorithm.parse(a));
        }
        if (algs.contains(JWSAlgorithm.EdDSA)) {
            algs.add(JWSAlgorithm.Ed25519); // the newer, fully-specified name for the same algorithm
        }
        List<EntitlementRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (JsonNode r : c.path("entitlements")) {
            String id = r.path("id").asText();
            if (!ids.add(id)) {
                throw new InvalidConfException("$.entitlements[" + i + "].id", "duplicate rule id");
            }
            rules.add(new EntitlementRule(id, Set.copyOf(strings(r, "groups", List.of())),
                    Set.copyOf(strings(r, "subjects", List.of())), Set.copyOf(strings(r, "clients", List.of())),
                    globs(api, strings(r, "allow", List.of()), "$.entitlements[" + i + "].allow"),
                    globs(api, strings(r, "deny", List.of()), "$.entitlements[" + i + "].deny")));
            i++;
        }
        Optional<URI> jwks = c.hasNonNull("jwks_uri") ? Optional.of(URI.create(c.get("jwks_uri").asText())) : Optional.empty();
        return new AuthConf(
                c.path("issuer").asText(),
                jwks,
                Set.copyOf(strings(c, "audiences", List.of())),
                algs,
                Duration.ofSeconds(c.path("clock_skew_seconds").asInt(30)),
                Set.copyOf(strings(c, "required_scopes", List.of())),
                strings(c, "groups_claims", List.of("groups", "realm_access.roles")),
                c.path("username_claim").asText("preferred_username"),
                strings(c, "client_claims", List.of("azp", "client_id")),
                Duration.ofSeconds(c.path("jwks_refresh_seconds").asInt(300)),
                Duration.ofSeconds(c.path("jwks_min_refresh_seconds").asInt(10)),
                c.path("max_token_bytes").asInt(16384),
                api,
                fixed,
                Set.copyOf(strings(c, "model_free_paths", List.of())),
                strings(c, "model_query_args", List.of("model")),
                strings(c, "model_headers", List.of("x-model")).stream().map(h -> h.toLowerCase(Locale.ROOT)).toList(),
                c.path("max_body_bytes").asInt(DEFAULT_MAX_BODY_BYTES),
                rules,
                c.path("deny_status").asInt(404),
                c.hasNonNull("upstream_credential") ? Optional.of(c.get("upstream_credential").asText()) : Optional.empty(),
                c.path("credential_header").asText("authorization"),
                c.path("require_access_token_type").asBoolean(false),
                c.path("ollama_management").asBoolean(false));
    }

    /** Patterns as written, or on Ollama routes in the canonical form model names are compared in. */
    private static List<Glob> globs(ModelApi api, List<String> patterns, String path) throws InvalidConfException {
        List<Glob> out = new ArrayList<>();
        for (int j = 0; j < patterns.size(); j++) {
            String p = patterns.get(j);
            if (api == ModelApi.OLLAMA) {
                try {
                    p = OllamaNames.canonicalPattern(p);
                } catch (IllegalArgumentException e) {
                    throw new InvalidConfException(path + "[" + j + "]", e.getMessage());
                }
            }
            out.add(new Glob(p));
        }
        return List.copyOf(out);
    }

    private static List<String> strings(JsonNode c, String field, List<String> fallback) {
        JsonNode n = c.get(field);
        if (n == null || !n.isArray()) {
            return fallback;
        }
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return List.copyOf(out);
    }

    /** The nginx var holding a request header: {@code x-model} → {@code http_x_model}. */
    static String headerVar(String header) {
        return "http_" + header.toLowerCase(Locale.ROOT).replace('-', '_');
    }
}
