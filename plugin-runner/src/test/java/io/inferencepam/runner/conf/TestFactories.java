package io.inferencepam.runner.conf;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Small factories with real schemas, for compiler and linter tests. */
final class TestFactories {
    private TestFactories() {
    }

    static PluginFactory limits() {
        return new PluginFactory() {
            @Override
            public String name() {
                return "limits";
            }

            @Override
            public String confSchema() {
                return """
                        {"type":"object","additionalProperties":false,"required":["max"],
                         "properties":{"max":{"type":"integer","minimum":1},
                                       "models":{"type":"array","items":{"type":"string","minLength":1}},
                                       "secret":{"type":"string"}}}""";
            }

            @Override
            public Plugin create(JsonNode conf) throws InvalidConfException {
                if (conf.path("max").asInt() == 13) {
                    throw new InvalidConfException("$.max", "13 is reserved");
                }
                return new Plugin() { };
            }
        };
    }

    static PluginFactory responseOnly() {
        return new PluginFactory() {
            @Override
            public String name() {
                return "resp-only";
            }

            @Override
            public String confSchema() {
                return "{\"type\":\"object\"}";
            }

            @Override
            public Set<Phase> phases() {
                return EnumSet.of(Phase.RESPONSE);
            }

            @Override
            public Plugin create(JsonNode conf) {
                return new Plugin() { };
            }
        };
    }

    static ConfCompiler compiler() {
        return new ConfCompiler(PluginRegistry.of(List.of(limits(), responseOnly()), ConfCompiler.STRICT_JSON));
    }
}
