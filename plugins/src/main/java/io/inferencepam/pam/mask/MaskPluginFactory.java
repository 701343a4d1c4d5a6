package io.inferencepam.pam.mask;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.re2j.PatternSyntaxException;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.Detector;
import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.DictionaryDetector;
import io.inferencepam.pam.mask.detect.EmailDetector;
import io.inferencepam.pam.mask.detect.IpDetector;
import io.inferencepam.pam.mask.detect.NotPersonal;
import io.inferencepam.pam.mask.detect.PhoneDetector;
import io.inferencepam.pam.mask.detect.RegexDetector;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code pam-mask}: masks PII and secrets in model responses. Listed in {@code ext-plugin-post-resp}
 * it masks; listed in {@code ext-plugin-pre-req} of the same route it removes the client's
 * Accept-Encoding so the upstream answers uncompressed (and, as a pre-req plugin, makes a dead
 * runner fail the call before the upstream is reached — see docs/plugins/pam-mask.md).
 */
public final class MaskPluginFactory implements PluginFactory {
    public static final String NAME = "pam-mask";
    public static final String HMAC_KEY_SETTING = "PAM_MASK_HMAC_KEY";
    static final int MIN_KEY_BYTES = 16;
    /**
     * Largest {@code max_body_bytes}: the masked body is held to it as well, and it must fit one
     * ext-plugin frame (16 MiB − 1 bytes) together with the reply's status, headers and FlatBuffer
     * tables, for which 64 KiB is left (nginx keeps upstream headers within proxy_buffer_size, 4–8
     * KiB by default). A reply that still does not fit gets the runtime's safe 503.
     */
    static final int MAX_BODY_BYTES = 0xFFFFFF + 1 - 64 * 1024;

    private final PluginEnvironment env;

    public MaskPluginFactory(PluginEnvironment env) {
        this.env = env;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Set<Phase> phases() {
        return EnumSet.of(Phase.REQUEST, Phase.RESPONSE);
    }

    @Override
    public String confSchema() {
        StringBuilder builtins = new StringBuilder();
        for (String n : BuiltinDetectors.names()) {
            builtins.append(builtins.length() == 0 ? "" : ",").append('"').append(n).append("\":{\"$ref\":\"#/$defs/detector\"}");
        }
        return """
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "default_action": {"enum": ["redact", "partial", "hash", "block"]},
                "default_keep": {"type": "integer", "minimum": 1, "maximum": 8},
                "detectors": {"type": "object", "additionalProperties": false, "properties": {%s}},
                "custom": {"type": "array", "maxItems": 64, "items": {
                  "type": "object", "additionalProperties": false, "required": ["name"],
                  "properties": {
                    "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
                    "regex": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "dictionary": {"type": "array", "minItems": 1, "maxItems": 20000,
                                   "items": {"type": "string", "minLength": 1, "maxLength": 256}},
                    "case_insensitive": {"type": "boolean"},
                    "whole_words": {"type": "boolean"},
                    "action": {"enum": ["redact", "partial", "hash", "block"]},
                    "keep": {"type": "integer", "minimum": 1, "maximum": 8}
                  },
                  "oneOf": [{"required": ["regex"]}, {"required": ["dictionary"]}]}},
                "allow": {"type": "array", "maxItems": 10000, "items": {"type": "string", "minLength": 1, "maxLength": 1024}},
                "max_body_bytes": {"type": "integer", "minimum": 1024, "maximum": %d},
                "count_header": {"type": "boolean"},
                "block_status": {"type": "integer", "minimum": 400, "maximum": 599},
                "unscannable": {"enum": ["fail", "pass"]},
                "not_personal": {"type": "array", "uniqueItems": true,
                                 "items": {"enum": ["loopback", "unspecified", "documentation", "versions", "git_remotes"]}},
                "phone_regions": {"type": "array", "maxItems": 64, "uniqueItems": true,
                                  "items": {"type": "string", "pattern": "^[A-Z]{2}$"}}
              },
              "$defs": {
                "detector": {"type": "object", "additionalProperties": false, "properties": {
                  "action": {"enum": ["redact", "partial", "hash", "block", "off"]},
                  "keep": {"type": "integer", "minimum": 1, "maximum": 8}}}
              }
            }
            """.formatted(builtins, MAX_BODY_BYTES);
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        String defaultAction = conf.path("default_action").asText("redact");
        int defaultKeep = conf.path("default_keep").asInt(4);
        List<Detector> detectors = new ArrayList<>();
        Map<String, Action> actions = new HashMap<>();
        boolean needsKey = false;
        JsonNode perDetector = conf.path("detectors");
        Set<NotPersonal> keep = EnumSet.noneOf(NotPersonal.class);
        if (conf.has("not_personal")) {
            conf.get("not_personal").forEach(k -> keep.add(NotPersonal.fromConf(k.asText())));
        } else {
            keep.addAll(NotPersonal.DEFAULT);
        }
        for (String name : BuiltinDetectors.names()) {
            JsonNode d = perDetector.path(name);
            String action = d.path("action").asText(defaultAction);
            if (action.equals("off")) {
                continue;
            }
            detectors.add(switch (name) {
                case "phone" -> phoneDetector(conf);
                case "email" -> new EmailDetector(keep);
                case "ipv4" -> IpDetector.v4(keep);
                case "ipv6" -> IpDetector.v6(keep);
                default -> BuiltinDetectors.create(name);
            });
            actions.put(name, action(action, d.path("keep").asInt(defaultKeep)));
            needsKey |= action.equals("hash");
        }
        Set<String> names = new HashSet<>(BuiltinDetectors.names());
        JsonNode custom = conf.path("custom");
        for (int i = 0; i < custom.size(); i++) {
            JsonNode c = custom.get(i);
            String path = "$.custom[" + i + "]";
            String name = c.get("name").asText();
            if (!names.add(name)) {
                throw new InvalidConfException(path + ".name", "duplicate detector name (built-in names are reserved)");
            }
            boolean ci = c.path("case_insensitive").asBoolean(!c.has("regex"));
            if (c.has("regex")) {
                try {
                    detectors.add(new RegexDetector(name, c.get("regex").asText(), ci));
                } catch (PatternSyntaxException e) {
                    throw new InvalidConfException(path + ".regex", "not a valid RE2 pattern (RE2 has no backreferences or look-around)");
                }
            } else {
                List<String> terms = new ArrayList<>();
                c.get("dictionary").forEach(t -> terms.add(t.asText()));
                detectors.add(new DictionaryDetector(name, terms, ci, c.path("whole_words").asBoolean(true)));
            }
            String action = c.path("action").asText(defaultAction);
            actions.put(name, action(action, c.path("keep").asInt(defaultKeep)));
            needsKey |= action.equals("hash");
        }
        Optional<byte[]> key = Optional.empty();
        if (needsKey) {
            Optional<String> setting = env.setting(HMAC_KEY_SETTING).filter(s -> !s.isBlank());
            if (setting.isEmpty()) {
                throw new InvalidConfException("$.detectors", "action hash needs the runner setting "
                        + HMAC_KEY_SETTING + " (a secret of at least " + MIN_KEY_BYTES + " bytes)");
            }
            byte[] k = setting.get().getBytes(StandardCharsets.UTF_8);
            if (k.length < MIN_KEY_BYTES) {
                throw new InvalidConfException("$.detectors", "the runner setting " + HMAC_KEY_SETTING
                        + " is shorter than " + MIN_KEY_BYTES + " bytes");
            }
            key = Optional.of(k);
        }
        Set<String> allow = new LinkedHashSet<>();
        conf.path("allow").forEach(a -> allow.add(a.asText()));
        MaskSettings settings = new MaskSettings(
                conf.path("max_body_bytes").asInt(8 * 1024 * 1024),
                conf.path("count_header").asBoolean(false),
                conf.path("block_status").asInt(403),
                conf.path("unscannable").asText("fail").equals("pass"));
        Redactor redactor = new Redactor(new DetectorSet(detectors, allow), actions, key);
        return new MaskPlugin(redactor, settings);
    }

    /** The phone detector for the route's expected regions ({@code phone_regions}). */
    private static PhoneDetector phoneDetector(JsonNode conf) throws InvalidConfException {
        if (!conf.has("phone_regions")) {
            return new PhoneDetector();
        }
        List<String> regions = new ArrayList<>();
        conf.get("phone_regions").forEach(r -> regions.add(r.asText()));
        List<String> unknown = PhoneDetector.unsupported(regions);
        if (!unknown.isEmpty()) {
            throw new InvalidConfException("$.phone_regions", "not regions libphonenumber knows: " + String.join(", ", unknown)
                    + " (ISO 3166-1 alpha-2 codes, upper case)");
        }
        return new PhoneDetector(regions);
    }

    private static Action action(String name, int keep) {
        return new Action(Action.Kind.valueOf(name.toUpperCase(Locale.ROOT)), keep);
    }
}
