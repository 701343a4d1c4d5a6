package io.inferencepam.driver;

/** APISIX's three ext-plugin phase plugins, in the order they run on one HTTP request. */
public enum ExtPhase {
    /** {@code ext-plugin-pre-req}: rewrite phase, priority 12000, before APISIX's auth plugins. */
    PRE_REQ("ext-plugin-pre-req"),
    /** {@code ext-plugin-post-req}: access phase, priority -3000 (conformance R15). */
    POST_REQ("ext-plugin-post-req"),
    /** {@code ext-plugin-post-resp}: before_proxy; APISIX calls the upstream itself (conformance P*, C*). */
    POST_RESP("ext-plugin-post-resp");

    private final String pluginName;

    ExtPhase(String pluginName) {
        this.pluginName = pluginName;
    }

    public String pluginName() {
        return pluginName;
    }
}
