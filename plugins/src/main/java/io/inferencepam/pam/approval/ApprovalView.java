package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.Principal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An approval as the control API shows it. Three readers: the requester (their own approval: its
 * state, who decided and why), a reviewer eligible for it and an operator (everything a decision
 * needs, the prompt masked). Built from the stored hash; never the raw body.
 */
final class ApprovalView {
    private static final ObjectMapper JSON = new ObjectMapper();

    enum Reader { REQUESTER, REVIEWER, OPERATOR }

    private final Map<String, byte[]> f;

    ApprovalView(Map<String, byte[]> fields) {
        this.f = fields;
    }

    String text(String name) {
        byte[] v = f.get(name);
        return v == null ? "" : new String(v, StandardCharsets.UTF_8);
    }

    byte[] body() {
        return f.getOrDefault("body", new byte[0]);
    }

    /** The webhooks the route named when the call was held. */
    List<String> webhooks() {
        return names(json("notify"));
    }

    long number(String name) {
        String s = text(name);
        return s.isEmpty() ? 0 : Long.parseLong(s);
    }

    JsonNode json(String name) {
        try {
            String s = text(name);
            return s.isEmpty() ? JSON.createArrayNode() : JSON.readTree(s);
        } catch (Exception e) {
            return JSON.createArrayNode();
        }
    }

    /** The stored state, or {@code expired} once an undecided or unused approval is past its expiry. */
    String state(long nowMillis) {
        String s = text("state");
        return ("pending".equals(s) || "approved".equals(s)) && nowMillis >= number("expires_ms") ? "expired" : s;
    }

    boolean requestedBy(Principal p) {
        return text("principal").equals(ApprovalKeys.principalKey(p));
    }

    /** In one of the groups the route named, now. */
    boolean eligible(Principal p) {
        for (JsonNode g : json("reviewer_groups")) {
            if (p.groups().contains(g.asText())) {
                return true;
            }
        }
        return false;
    }

    ObjectNode summary(long nowMillis) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", text("id")).put("state", state(nowMillis)).put("route", text("route")).put("model", text("model"));
        ObjectNode req = o.putObject("requester");
        req.put("username", text("username")).put("subject", text("sub")).put("client", text("client"));
        o.set("rules", json("rules"));
        o.put("created_at", Instant.ofEpochMilli(number("created_ms")).toString())
                .put("expires_at", Instant.ofEpochMilli(number("expires_ms")).toString());
        o.put("approvals", json("approvals").size()).put("required", number("required"));
        return o;
    }

    ObjectNode detail(long nowMillis, Reader reader, PromptExcerpt excerpt) {
        ObjectNode o = summary(nowMillis);
        o.put("method", text("method")).put("path", text("path"));
        ArrayNode decisions = o.putArray("decisions");
        for (JsonNode a : json("approvals")) {
            ObjectNode d = decisions.addObject().put("decision", "approve").put("reviewer", a.path("name").asText())
                    .put("reason", a.path("reason").asText());
            d.put("at", Instant.ofEpochMilli(a.path("at_ms").asLong()).toString());
        }
        if (!text("denied_by").isEmpty()) {
            decisions.addObject().put("decision", "deny").put("reviewer", text("denied_by")).put("reason", text("deny_reason"))
                    .put("at", Instant.ofEpochMilli(number("decided_ms")).toString());
        }
        if (number("used_ms") > 0) {
            o.put("used_at", Instant.ofEpochMilli(number("used_ms")).toString());
        }
        byte[] body = f.getOrDefault("body", new byte[0]);
        o.put("body_bytes", body.length);
        o.put("prompt_excerpt", excerpt.of(body));
        if (reader != Reader.REQUESTER) {
            o.set("reviewer_groups", json("reviewer_groups"));
            o.set("args", json("args"));
            o.set("headers", maskedHeaders(excerpt));
            o.put("source_ip", text("source_ip")).put("issuer", text("iss")).put("policy", text("policy"));
            o.set("requester_groups", json("groups"));
            ObjectNode notified = JSON.createObjectNode();
            f.keySet().stream().filter(k -> k.startsWith("notify:")).sorted()
                    .forEach(k -> notified.put(k.substring("notify:".length()), text(k)));
            o.set("notifications", notified);
        }
        return o;
    }

    private JsonNode maskedHeaders(PromptExcerpt excerpt) {
        JsonNode h = json("headers");
        if (!h.isObject()) {
            return JSON.createObjectNode();
        }
        ObjectNode out = JSON.createObjectNode();
        h.fields().forEachRemaining(e -> {
            ArrayNode vs = out.putArray(e.getKey());
            e.getValue().forEach(v -> vs.add(excerpt.mask(v.asText())));
        });
        return out;
    }

    private static List<String> names(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }
}
