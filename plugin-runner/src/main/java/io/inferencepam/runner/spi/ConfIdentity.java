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
     */
    public static ConfIdentity fromKey(String key, String sha256, long token) {
        String routeId = "";
        String plugin = "";
        if (key != null) {
            String[] parts = key.split("#", -1);
            String type = parts[0].split("&", -1)[0];
            if (parts.length >= 3 && ("route".equals(type) || "service".equals(type) || "global_rule".equals(type))) {
                routeId = parts[0].contains("&") ? parts[1].split("&", -1)[0] : parts[1];
                plugin = parts[2];
            }
        }
        return new ConfIdentity(key == null ? "" : key, routeId, plugin, sha256, token);
    }
}
