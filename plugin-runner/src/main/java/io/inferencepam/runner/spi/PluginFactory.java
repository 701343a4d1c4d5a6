package io.inferencepam.runner.spi;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A named plugin as written in APISIX's {@code ext-plugin-*} conf ({@code {"name": ..., "value": ...}}).
 */
public interface PluginFactory {

    /** The name in the route conf, e.g. {@code pam-auth}. */
    String name();

    /** JSON Schema (draft 2020-12) that every conf value must satisfy. Checked before {@link #create}. */
    String confSchema();

    /**
     * The phases this plugin can serve. Listing it in another phase's conf (e.g. a response
     * masker in {@code ext-plugin-pre-req}) fails PrepareConf: it would silently protect nothing.
     */
    default java.util.Set<Phase> phases() {
        return java.util.EnumSet.allOf(Phase.class);
    }

    /**
     * True if the conf value is plain text rather than JSON: it is then handed to the schema and to
     * {@link #create} as a JSON string node, unparsed.
     */
    default boolean rawTextConf() {
        return false;
    }

    /**
     * Builds the plugin for one schema-valid conf. Called once per conf token, off the event loop.
     * Throw {@link InvalidConfException} for what a schema cannot express.
     */
    Plugin create(JsonNode conf) throws InvalidConfException;
}
