package io.inferencepam.pam.guard;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.catalog.ApiFamily;
import io.inferencepam.pam.catalog.Catalog;
import io.inferencepam.pam.catalog.Pack;
import io.inferencepam.pam.catalog.PathPattern;
import io.inferencepam.runner.spi.InvalidConfException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A pam-guard route conf, parsed once per conf token (the schema has already been checked).
 *
 * @param family             the route's server family (what counts as inference there)
 * @param mode               enforce or observe
 * @param packs              the built-in packs in force (every one unless disabled), in catalogue order
 * @param allowOnlyInference refuse every endpoint the family does not list as inference, model
 *                           info or model-free
 * @param rules              the route's own rules, first match wins, before the packs
 * @param maxBodyBytes       larger request bodies are refused (413) before anything reads them
 */
record GuardConf(ApiFamily family, GuardMode mode, List<Pack> packs, boolean allowOnlyInference, List<CustomRule> rules,
                 int maxBodyBytes) {

    static final String DEFAULT_FAMILY = "openai";
    /** 1 MiB: a long chat (128k tokens of text is about 0.5 MB); raise it for large images. */
    static final int DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

    /** The schema's {@code properties}, without the body checks' sections (added by {@link GuardPluginFactory}). */
    static final String PROPERTIES = """
            "family": {"enum": ["openai", "vllm", "sglang", "ollama", "kserve", "tgi", "torchserve"]},
            "mode": {"enum": ["enforce", "observe"]},
            "disabled_packs": {"type": "array", "uniqueItems": true,
              "items": {"enum": ["openai", "vllm", "sglang", "litellm", "ollama", "kserve", "tgi", "torchserve"]}},
            "allow_only_inference": {"type": "boolean"},
            "rules": {"type": "array", "maxItems": 256, "items": {
              "type": "object", "additionalProperties": false, "required": ["id", "path", "action"],
              "properties": {
                "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
                "methods": {"type": "array", "uniqueItems": true,
                  "items": {"enum": ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]}},
                "path": {"type": "string", "pattern": "^/", "maxLength": 512},
                "action": {"enum": ["allow", "deny"]},
                "reason": {"type": "string", "maxLength": 256}
              }}},
            "max_body_bytes": {"type": "integer", "minimum": 1024, "maximum": 16777215}
            """;

    static GuardConf parse(JsonNode c) throws InvalidConfException {
        String familyId = c.path("family").asText(DEFAULT_FAMILY);
        ApiFamily family = Catalog.family(familyId)
                .orElseThrow(() -> new InvalidConfException("$.family", "unknown family " + familyId));
        Set<String> disabled = new HashSet<>();
        c.path("disabled_packs").forEach(p -> disabled.add(p.asText()));
        List<Pack> packs = new ArrayList<>();
        for (Pack p : Catalog.PACKS) {
            if (!disabled.remove(p.id())) {
                packs.add(p);
            }
        }
        if (!disabled.isEmpty()) {
            throw new InvalidConfException("$.disabled_packs", "unknown pack(s) " + disabled);
        }
        List<CustomRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (JsonNode r : c.path("rules")) {
            String where = "$.rules[" + i + "]";
            String id = r.path("id").asText();
            if (!ids.add(id)) {
                throw new InvalidConfException(where + ".id", "duplicate rule id");
            }
            PathPattern path;
            try {
                path = PathPattern.of(r.path("path").asText());
            } catch (IllegalArgumentException e) {
                throw new InvalidConfException(where + ".path", e.getMessage());
            }
            Set<String> methods = new LinkedHashSet<>();
            r.path("methods").forEach(m -> methods.add(m.asText().toUpperCase(Locale.ROOT)));
            boolean allow = "allow".equals(r.path("action").asText());
            rules.add(new CustomRule(id, methods, path, allow, r.path("reason").asText(allow ? "" : "denied by this route's rules")));
            i++;
        }
        GuardMode mode = "observe".equals(c.path("mode").asText("enforce")) ? GuardMode.OBSERVE : GuardMode.ENFORCE;
        return new GuardConf(family, mode, List.copyOf(packs), c.path("allow_only_inference").asBoolean(true),
                List.copyOf(rules), c.path("max_body_bytes").asInt(DEFAULT_MAX_BODY_BYTES));
    }
}
