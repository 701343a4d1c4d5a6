package io.inferencepam.runner.conf;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.Header;
import java.util.ArrayList;
import java.util.List;

/**
 * Lints an APISIX route (Admin API body) for what would make it fail closed at PrepareConf, and
 * for configurations that fail open.
 */
public final class RouteLinter {
    public enum Severity { ERROR, WARNING }

    public record Finding(Severity severity, String path, String message) {
        @Override
        public String toString() {
            return severity + " " + path + ": " + message;
        }
    }

    static final List<String> EXT_PLUGINS = List.of("ext-plugin-pre-req", "ext-plugin-post-req", "ext-plugin-post-resp");
    private final ConfCompiler compiler;

    public RouteLinter(ConfCompiler compiler) {
        this.compiler = compiler;
    }

    public List<Finding> lint(JsonNode route) {
        List<Finding> out = new ArrayList<>();
        JsonNode plugins = route.path("plugins");
        if (!plugins.isObject()) {
            out.add(new Finding(Severity.ERROR, "$.plugins", "route has no plugins object"));
            return out;
        }
        boolean any = false;
        for (String ext : EXT_PLUGINS) {
            JsonNode p = plugins.get(ext);
            if (p == null) {
                continue;
            }
            any = true;
            String base = "$.plugins['" + ext + "']";
            if (p.path("allow_degradation").asBoolean(false)) {
                out.add(new Finding(Severity.ERROR, base + ".allow_degradation",
                        "must be false on enforcement routes: when the runner is down or fails, APISIX would skip the plugin (fail open)"));
            }
            JsonNode conf = p.get("conf");
            if (conf == null || !conf.isArray()) {
                out.add(new Finding(Severity.ERROR, base + ".conf", "expected an array of {name, value}"));
                continue;
            }
            List<Header> entries = new ArrayList<>();
            for (int i = 0; i < conf.size(); i++) {
                JsonNode e = conf.get(i);
                if (!e.path("name").isTextual() || !e.path("value").isTextual()) {
                    out.add(new Finding(Severity.ERROR, base + ".conf[" + i + "]",
                            "each entry needs a string name and a string value (the plugin's JSON conf, serialized)"));
                    entries.add(new Header(e.path("name").asText("?"), e.path("value").isTextual() ? e.path("value").asText() : ""));
                } else {
                    entries.add(new Header(e.get("name").asText(), e.get("value").asText()));
                }
            }
            for (ConfProblem problem : compiler.check(entries, ConfCompiler.phaseOfApisixPlugin(ext))) {
                String path = base + ".conf[" + problem.entry() + "].value" + problem.path().substring(1);
                out.add(new Finding(Severity.ERROR, path, "(" + problem.plugin() + ") " + problem.message()));
            }
        }
        if (!any) {
            out.add(new Finding(Severity.WARNING, "$.plugins", "no ext-plugin-* on this route: inference-pam does not protect it"));
        }
        if (plugins.has("ext-plugin-post-resp") && !plugins.has("ext-plugin-pre-req") && !plugins.has("ext-plugin-post-req")) {
            out.add(new Finding(Severity.WARNING, "$.plugins['ext-plugin-post-resp']",
                    "no ext-plugin-pre-req on this route: if the runner is down, APISIX calls the upstream anyway and "
                            + "sends the original (unmasked) body with status 503; add ext-plugin-pre-req so a dead runner "
                            + "fails the call before the upstream is reached"));
        }
        return out;
    }
}
