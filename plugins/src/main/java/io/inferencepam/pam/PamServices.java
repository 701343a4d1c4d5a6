package io.inferencepam.pam;

import io.inferencepam.runner.spi.PluginEnvironment;
import java.net.URI;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;

/**
 * Services shared by the PAM plugins of one runner (one instance per process, created by
 * {@link PamPluginProvider}). Everything here is lazy: nothing connects until a conf needs it.
 */
public final class PamServices {
    private final PluginEnvironment env;

    public PamServices(PluginEnvironment env) {
        this.env = env;
    }

    public PluginEnvironment env() {
        return env;
    }

    private UnifiedJedis redis;

    /**
     * The runner's Redis client (PAM_REDIS_URL, default redis://127.0.0.1:6379), created on first
     * use and closed at shutdown. Connecting is lazy too: a Redis that is down fails calls, not this.
     */
    public synchronized UnifiedJedis redis() {
        if (redis == null) {
            String url = env.setting("PAM_REDIS_URL").orElse("redis://127.0.0.1:6379");
            redis = new JedisPooled(URI.create(url), 2000);
            UnifiedJedis r = redis;
            env.onShutdown(r::close);
        }
        return redis;
    }
}
