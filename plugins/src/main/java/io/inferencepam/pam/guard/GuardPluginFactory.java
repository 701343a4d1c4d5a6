package io.inferencepam.pam.guard;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Creates pam-guard plugins. The body checks (parameter policy, prompt rules…) are registered here
 * as {@link BodyCheck.Factory}s: each adds its own member to the conf schema and builds its check
 * from that member, in registration order, which is the order the checks run in.
 */
public final class GuardPluginFactory implements PluginFactory {
    private final GuardMetrics metrics;
    private final List<BodyCheck.Factory> checkFactories;
    private final String schema;

    public GuardPluginFactory(PluginEnvironment env) {
        this(env, List.of());
    }

    public GuardPluginFactory(PluginEnvironment env, List<BodyCheck.Factory> checkFactories) {
        this.metrics = new GuardMetrics(env.metrics());
        this.checkFactories = List.copyOf(checkFactories);
        Set<String> keys = new HashSet<>();
        StringBuilder props = new StringBuilder(GuardConf.PROPERTIES.strip());
        for (BodyCheck.Factory f : this.checkFactories) {
            if (!keys.add(f.confKey()) || GuardConf.PROPERTIES.contains("\"" + f.confKey() + "\"")) {
                throw new IllegalArgumentException("body check conf key used twice: " + f.confKey());
            }
            props.append(",\n\"").append(f.confKey()).append("\": ").append(f.confSchema().strip());
        }
        this.schema = """
                {
                  "$schema": "https://json-schema.org/draft/2020-12/schema",
                  "type": "object",
                  "additionalProperties": false,
                  "properties": {
                """ + props + "\n  }\n}\n";
    }

    @Override
    public String name() {
        return GuardPlugin.NAME;
    }

    @Override
    public String confSchema() {
        return schema;
    }

    @Override
    public Set<Phase> phases() {
        return EnumSet.of(Phase.REQUEST);
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        GuardConf parsed = GuardConf.parse(conf);
        List<BodyCheck> checks = new ArrayList<>();
        for (BodyCheck.Factory f : checkFactories) {
            Optional<BodyCheck> check = f.create(conf.path(f.confKey()));
            check.ifPresent(checks::add);
        }
        return new GuardPlugin(parsed, checks, metrics);
    }
}
