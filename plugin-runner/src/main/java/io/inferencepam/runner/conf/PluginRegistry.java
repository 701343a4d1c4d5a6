package io.inferencepam.runner.conf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.inferencepam.runner.spi.PluginFactory;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** The plugins this runner knows, by name, with their compiled conf schemas. */
public final class PluginRegistry {

    /** A factory and its compiled schema. */
    public record Entry(PluginFactory factory, JsonSchema schema) {
    }

    private final Map<String, Entry> byName;

    private PluginRegistry(Map<String, Entry> byName) {
        this.byName = byName;
    }

    public static PluginRegistry of(Collection<PluginFactory> factories, ObjectMapper json) {
        JsonSchemaFactory schemas = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        Map<String, Entry> map = new LinkedHashMap<>();
        for (PluginFactory f : factories) {
            JsonNode schemaNode;
            try {
                schemaNode = json.readTree(f.confSchema());
            } catch (Exception e) {
                throw new IllegalStateException("plugin " + f.name() + " declares an unparseable conf schema", e);
            }
            if (map.put(f.name(), new Entry(f, schemas.getSchema(schemaNode))) != null) {
                throw new IllegalStateException("two plugins are named " + f.name());
            }
        }
        return new PluginRegistry(Collections.unmodifiableMap(map));
    }

    public Optional<Entry> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public List<String> names() {
        return List.copyOf(new TreeSet<>(byName.keySet()));
    }
}
