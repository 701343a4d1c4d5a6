package io.inferencepam.runner.conf;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.ValidationMessage;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import io.inferencepam.runner.spi.Phase;
import java.util.Set;

/**
 * Validates APISIX conf entries against the plugin registry and builds the plugins. Every problem
 * is collected (not just the first) so an operator can fix a conf in one pass; any problem fails
 * the whole conf: a route never runs with part of its protection.
 */
public final class ConfCompiler {
    private final PluginRegistry registry;

    /** Strict JSON: duplicate keys are an error, not "last one wins" (a classic policy bypass). */
    public static final ObjectMapper STRICT_JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    public ConfCompiler(PluginRegistry registry) {
        this.registry = registry;
    }

    public PluginRegistry registry() {
        return registry;
    }

    /** Checks entries without building plugins (what {@code lint} uses). */
    public List<ConfProblem> check(List<Header> entries, Optional<Phase> phase) {
        List<ConfProblem> problems = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            Header e = entries.get(i);
            if (!seen.add(e.name())) {
                problems.add(new ConfProblem(i, e.name(), "$", "plugin listed twice in one conf; list it once"));
                continue;
            }
            var entry = registry.find(e.name());
            if (entry.isEmpty()) {
                problems.add(new ConfProblem(i, e.name(), "$",
                        "unknown plugin name; this runner knows " + registry.names()));
                continue;
            }
            if (phase.isPresent() && !entry.get().factory().phases().contains(phase.get())) {
                problems.add(new ConfProblem(i, e.name(), "$", "plugin does not run in the "
                        + phase.get().name().toLowerCase(java.util.Locale.ROOT) + " phase; it serves "
                        + entry.get().factory().phases()));
                continue;
            }
            parseAndValidate(i, e, entry.get(), problems);
        }
        return problems;
    }

    public PreparedConf compile(String key, List<Header> entries, long token) throws InvalidConfsException {
        List<ConfProblem> problems = check(entries, phaseOf(key));
        if (!problems.isEmpty()) {
            throw new InvalidConfsException(problems);
        }
        List<String> names = new ArrayList<>(entries.size());
        List<Plugin> plugins = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            Header e = entries.get(i);
            PluginRegistry.Entry entry = registry.find(e.name()).orElseThrow();
            List<ConfProblem> local = new ArrayList<>();
            JsonNode value = parseAndValidate(i, e, entry, local);
            try {
                plugins.add(entry.factory().create(value));
                names.add(e.name());
            } catch (InvalidConfException ex) {
                problems.add(new ConfProblem(i, e.name(), ex.path(), messageOf(ex)));
            } catch (RuntimeException ex) {
                problems.add(new ConfProblem(i, e.name(), "$", "plugin rejected the conf (" + ex.getClass().getSimpleName() + ")"));
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidConfsException(problems);
        }
        return PreparedConf.of(ConfIdentity.fromKey(key, sha256(entries), token), names, plugins);
    }

    /** The phase named by APISIX's conf key ({@code route#id#ext-plugin-post-resp#ver}). */
    public static Optional<Phase> phaseOf(String key) {
        String plugin = ConfIdentity.fromKey(key, "", 0).apisixPlugin();
        return phaseOfApisixPlugin(plugin);
    }

    public static Optional<Phase> phaseOfApisixPlugin(String plugin) {
        return switch (plugin) {
            case "ext-plugin-pre-req", "ext-plugin-post-req" -> Optional.of(Phase.REQUEST);
            case "ext-plugin-post-resp" -> Optional.of(Phase.RESPONSE);
            default -> Optional.empty();
        };
    }

    private static String messageOf(InvalidConfException ex) {
        String m = ex.getMessage();
        String prefix = ex.path() + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    private JsonNode parseAndValidate(int index, Header e, PluginRegistry.Entry entry, List<ConfProblem> problems) {
        JsonNode value;
        if (entry.factory().rawTextConf()) {
            value = com.fasterxml.jackson.databind.node.TextNode.valueOf(e.value() == null ? "" : e.value());
        } else try {
            value = STRICT_JSON.readTree(e.value() == null ? "" : e.value());
        } catch (JsonProcessingException ex) {
            // Location only: the parser's message can quote the offending text, which may be a secret.
            var loc = ex.getLocation();
            problems.add(new ConfProblem(index, e.name(), "$", "value is not valid JSON"
                    + (loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")")
                    + (ex.getOriginalMessage() != null && ex.getOriginalMessage().startsWith("Duplicate field")
                    ? ": duplicate key" : "")));
            return null;
        }
        if (value == null || value.isMissingNode()) {
            problems.add(new ConfProblem(index, e.name(), "$", "value is empty; expected a JSON document"));
            return null;
        }
        Set<ValidationMessage> errors = entry.schema().validate(value);
        for (ValidationMessage m : errors) {
            problems.add(new ConfProblem(index, e.name(), m.getInstanceLocation().toString(), describe(m)));
        }
        return errors.isEmpty() ? value : null;
    }

    /** The validator's message without the instance location prefix (we report it separately). */
    private static String describe(ValidationMessage m) {
        String msg = m.getMessage();
        String loc = m.getInstanceLocation().toString();
        if (msg.startsWith(loc + ": ")) {
            msg = msg.substring(loc.length() + 2);
        }
        return msg;
    }

    static String sha256(List<Header> entries) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Header h : entries) {
                d.update(h.name().getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
                d.update((h.value() == null ? "" : h.value()).getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
