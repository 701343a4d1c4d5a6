package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.auth.Glob;
import io.inferencepam.runner.spi.InvalidConfException;
import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * pam-approval's route conf, validated once per conf token.
 *
 * @param rules              any rule that matches holds the call
 * @param reviewerGroups     who may decide the approvals this route opens (checked at decision time)
 * @param requiredApprovals  distinct reviewers needed (none of them the requester)
 * @param ttl                how long an approval can be decided and then used
 * @param keep               how long a decided, used or expired approval stays readable (status, replay refusal)
 * @param maxOpenPerPrincipal approvals one principal may have pending or approved-but-unused
 * @param maxParkedBodyBytes the largest body that can be parked (larger held calls are refused, 413)
 * @param statusUrl          template of the status URL given to the caller ({@code {id}} = the approval id)
 * @param redactHeaders      header names never stored (on top of the credential headers)
 * @param liveWait           how long a held call is kept open waiting for the decision (0: parked at once)
 * @param maxLivePerPrincipal calls of one principal held open at once on this runner (beyond: parked at once)
 * @param webhooks           webhooks told about new and decided approvals ({@link Webhook})
 */
record ApprovalConf(List<HoldRule> rules, Set<String> reviewerGroups, int requiredApprovals, Duration ttl, Duration keep,
                    int maxOpenPerPrincipal, int maxParkedBodyBytes, String statusUrl, Set<String> redactHeaders,
                    Set<String> params, Duration liveWait, int maxLivePerPrincipal, List<String> webhooks) {

    /**
     * The longest live wait. APISIX gives up on an ext-plugin call after a fixed 60 s; the runtime
     * holds a call at most 55 s ({@code PAM_MAX_HOLD_MS}), and after the wait the call still needs
     * one Redis round trip (bounded by the client's 2 s timeout) and the plugins after this one.
     */
    static final int MAX_WAIT_SECONDS = 50;

    static final int DEFAULT_MAX_PARKED_BODY_BYTES = 1024 * 1024;
    static final String DEFAULT_STATUS_URL = "/pam/approvals/{id}";

    static final String SCHEMA = """
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "additionalProperties": false,
              "required": ["rules", "reviewer_groups"],
              "properties": {
                "rules": {"type": "array", "minItems": 1, "maxItems": 256, "items": {
                  "type": "object", "additionalProperties": false, "required": ["id"],
                  "properties": {
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"},
                    "models": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 256}},
                    "principal_lacks_groups": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "subjects": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "clients": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "outside_hours": {"type": "object", "additionalProperties": false, "required": ["timezone", "from", "to"],
                      "properties": {
                        "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
                        "days": {"type": "array", "uniqueItems": true,
                          "items": {"enum": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]}},
                        "from": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                        "to": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
                      }},
                    "params_above": {"type": "object", "minProperties": 1,
                      "propertyNames": {"pattern": "^[A-Za-z0-9_]{1,64}(\\\\.[A-Za-z0-9_]{1,64})?$"},
                      "additionalProperties": {"type": "number"}},
                    "hold_missing_limit": {"type": "boolean"},
                    "flagged": {"type": "boolean"},
                    "always": {"type": "boolean"}
                  }}},
                "reviewer_groups": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                "required_approvals": {"type": "integer", "minimum": 1, "maximum": 5},
                "ttl_seconds": {"type": "integer", "minimum": 60, "maximum": 604800},
                "keep_seconds": {"type": "integer", "minimum": 0, "maximum": 2592000},
                "max_open_per_principal": {"type": "integer", "minimum": 1, "maximum": 1000},
                "max_parked_body_bytes": {"type": "integer", "minimum": 0, "maximum": 16777215},
                "status_url": {"type": "string", "minLength": 1, "maxLength": 512, "pattern": "^(https?://|/)[^\\\\s]*$"},
                "redact_headers": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"}},
                "wait_seconds": {"type": "integer", "minimum": 0, "maximum": 50},
                "max_live_per_principal": {"type": "integer", "minimum": 0, "maximum": 100},
                "notify": {"type": "array", "uniqueItems": true, "maxItems": 8,
                  "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"}}
              }
            }
            """;

    static ApprovalConf parse(JsonNode c) throws InvalidConfException {
        List<HoldRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> params = new LinkedHashSet<>();
        int i = 0;
        for (JsonNode r : c.path("rules")) {
            String path = "$.rules[" + i + "]";
            String id = r.path("id").asText();
            if (!ids.add(id)) {
                throw new InvalidConfException(path + ".id", "duplicate rule id");
            }
            List<Glob> models = new ArrayList<>();
            for (String m : strings(r, "models")) {
                models.add(new Glob(m));
            }
            Map<String, Double> above = new LinkedHashMap<>();
            r.path("params_above").fields().forEachRemaining(e -> above.put(e.getKey(), e.getValue().asDouble()));
            params.addAll(above.keySet());
            try {
                rules.add(new HoldRule(id, models, Set.copyOf(strings(r, "principal_lacks_groups")),
                        Set.copyOf(strings(r, "subjects")), Set.copyOf(strings(r, "clients")),
                        window(r.get("outside_hours"), path + ".outside_hours"), above,
                        r.path("hold_missing_limit").asBoolean(true),
                        r.path("flagged").asBoolean(false), r.path("always").asBoolean(false)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfException(path, e.getMessage());
            }
            i++;
        }
        String statusUrl = c.path("status_url").asText(DEFAULT_STATUS_URL);
        if (!statusUrl.contains("{id}")) {
            throw new InvalidConfException("$.status_url", "must contain {id}");
        }
        Set<String> redact = new LinkedHashSet<>();
        strings(c, "redact_headers").forEach(h -> redact.add(h.toLowerCase(Locale.ROOT)));
        return new ApprovalConf(List.copyOf(rules), Set.copyOf(strings(c, "reviewer_groups")),
                c.path("required_approvals").asInt(1),
                Duration.ofSeconds(c.path("ttl_seconds").asInt(3600)),
                Duration.ofSeconds(c.path("keep_seconds").asInt(86400)),
                c.path("max_open_per_principal").asInt(5),
                c.path("max_parked_body_bytes").asInt(DEFAULT_MAX_PARKED_BODY_BYTES),
                statusUrl, Set.copyOf(redact), Set.copyOf(params),
                Duration.ofSeconds(c.path("wait_seconds").asInt(45)),
                c.path("max_live_per_principal").asInt(3),
                List.copyOf(strings(c, "notify")));
    }

    private static Optional<TimeWindow> window(JsonNode w, String path) throws InvalidConfException {
        if (w == null) {
            return Optional.empty();
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(w.path("timezone").asText());
        } catch (DateTimeException e) {
            throw new InvalidConfException(path + ".timezone", "unknown time zone");
        }
        Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        for (String d : strings(w, "days")) {
            for (DayOfWeek dow : DayOfWeek.values()) {
                if (dow.name().startsWith(d)) {
                    days.add(dow);
                }
            }
        }
        String to = w.path("to").asText();
        LocalTime end = "24:00".equals(to) ? LocalTime.MAX : LocalTime.parse(to);
        try {
            return Optional.of(new TimeWindow(zone, days, LocalTime.parse(w.path("from").asText()), end));
        } catch (IllegalArgumentException e) {
            throw new InvalidConfException(path, e.getMessage());
        }
    }

    private static List<String> strings(JsonNode c, String field) {
        List<String> out = new ArrayList<>();
        c.path(field).forEach(x -> out.add(x.asText()));
        return out;
    }

    /** The status URL of approval {@code id}. */
    String statusUrl(String id) {
        return statusUrl.replace("{id}", id);
    }
}
