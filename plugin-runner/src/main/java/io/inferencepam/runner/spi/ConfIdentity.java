package io.inferencepam.runner.spi;

/**
 * Which route conf a call belongs to.
 *
 * @param key      APISIX's PrepareConf key, {@code route#<route id>#<plugin name>#<conf version>}
 * @param routeId  the route id parsed from the key (empty if the key has another shape)
 * @param apisixPlugin ext-plugin-pre-req, ext-plugin-post-req or ext-plugin-post-resp
 * @param sha256   hex SHA-256 of the conf entries (names and values): the policy version
 * @param token    conf token handed to APISIX
 */
public record ConfIdentity(String key, String routeId, String apisixPlugin, String sha256, long token) {

    /**
     * Parses APISIX's key {@code <conf type>#<conf id>#<plugin>#<conf version>}. When a route is
     * merged with its service or consumer, APISIX joins the types, ids and versions with {@code &}
     * ({@code route&service#r1&s1#ext-plugin-pre-req#12&7}): the route id is then the first id.
     * The type, the phase plugin and the version are APISIX's own words and numbers; only the id
     * comes from configuration, so it is read as whatever lies between the type and the plugin:
     * whatever it holds, it cannot move the plugin, which names the phase a token is bound to.
     */
    public static ConfIdentity fromKey(String key, String sha256, long token) {
        String routeId = "";
        String plugin = "";
        if (key != null) {
            int afterType = key.indexOf('#');
            int beforeVersion = key.lastIndexOf('#');
            int beforePlugin = beforeVersion > afterType ? key.lastIndexOf('#', beforeVersion - 1) : -1;
            String types = afterType < 0 ? key : key.substring(0, afterType);
            String type = types.split("&", -1)[0];
            if (beforePlugin > afterType && ("route".equals(type) || "service".equals(type) || "global_rule".equals(type))) {
                String id = key.substring(afterType + 1, beforePlugin);
                routeId = types.contains("&") ? id.split("&", -1)[0] : id;
                plugin = key.substring(beforePlugin + 1, beforeVersion);
            }
        }
        return new ConfIdentity(key == null ? "" : key, routeId, plugin, sha256, token);
    }
}
