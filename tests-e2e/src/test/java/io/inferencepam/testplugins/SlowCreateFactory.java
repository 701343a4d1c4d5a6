package io.inferencepam.testplugins;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;

/**
 * {@code test-slow-create}: {@code create()} takes {@code millis} (as a plugin that loads key
 * material or a large model catalogue would), so a PrepareConf misses a short deadline. The plugin
 * itself does nothing. Conf: {@code {"millis": 1500}}.
 */
final class SlowCreateFactory implements PluginFactory {
    public String name() {
        return "test-slow-create";
    }

    public String confSchema() {
        return """
                {"type":"object","additionalProperties":false,"required":["millis"],
                 "properties":{"millis":{"type":"integer","minimum":0,"maximum":60000}}}""";
    }

    public Plugin create(JsonNode conf) {
        try {
            Thread.sleep(conf.get("millis").asLong());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new Plugin() {
        };
    }
}
