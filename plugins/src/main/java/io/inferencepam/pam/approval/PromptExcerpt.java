package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.Match;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * What reviewers read of a parked call: the text the model would see (chat messages with their
 * roles, {@code prompt}, {@code input}, {@code system}, {@code instructions}; the raw body when
 * it is not such JSON), with every value pam-mask's built-in detectors find (keys, tokens, card
 * numbers, e-mail addresses, …) replaced by {@code [detector]}. Masked first, cut afterwards, so a
 * cut never leaves half a secret readable.
 */
final class PromptExcerpt {
    static final int MAX_SCAN_CHARS = 64 * 1024;
    static final int MAX_EXCERPT_CHARS = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DetectorSet detectors =
            new DetectorSet(BuiltinDetectors.names().stream().map(BuiltinDetectors::create).toList(), Set.of());

    String of(byte[] body) {
        String text = extract(body);
        if (text.length() > MAX_SCAN_CHARS) {
            text = text.substring(0, MAX_SCAN_CHARS);
        }
        String masked = mask(text);
        return masked.length() > MAX_EXCERPT_CHARS ? masked.substring(0, MAX_EXCERPT_CHARS) + "…" : masked;
    }

    String mask(String text) {
        List<Match> found = detectors.find(text);
        if (found.isEmpty()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length());
        int at = 0;
        for (Match m : found) {
            sb.append(text, at, m.start()).append('[').append(m.detector()).append(']');
            at = m.end();
        }
        return sb.append(text, at, text.length()).toString();
    }

    private static String extract(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (Exception e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            return new String(body, StandardCharsets.UTF_8);
        }
        StringBuilder sb = new StringBuilder();
        for (String field : List.of("system", "instructions", "prompt", "input", "messages")) {
            collect(sb, root.get(field), field);
        }
        return sb.length() == 0 ? new String(body, StandardCharsets.UTF_8) : sb.toString().stripTrailing();
    }

    private static void collect(StringBuilder sb, JsonNode n, String label) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.isTextual()) {
            sb.append(label).append(": ").append(n.asText()).append('\n');
        } else if (n.isArray()) {
            for (JsonNode x : n) {
                if (x.isObject() && x.has("role")) {
                    collect(sb, x.get("content"), x.path("role").asText("?"));
                } else if (x.isObject() && x.has("text")) {
                    collect(sb, x.get("text"), label);
                } else {
                    collect(sb, x, label);
                }
            }
        } else if (n.isObject() && n.has("text")) {
            collect(sb, n.get("text"), label);
        }
    }
}
