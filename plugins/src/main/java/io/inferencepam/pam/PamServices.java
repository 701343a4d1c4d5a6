package io.inferencepam.pam;

import io.inferencepam.pam.redis.PamRedis;
import io.inferencepam.runner.spi.PluginEnvironment;

/**
 * Services shared by the PAM plugins of one runner (one instance per process, created by
 * {@link PamPluginProvider}). Everything here is lazy: nothing connects until a conf needs it.
 */
public final class PamServices {
    private final PluginEnvironment env;
    private volatile PamRedis redis;

    public PamServices(PluginEnvironment env) {
        this.env = env;
    }

    public PluginEnvironment env() {
        return env;
    }

    /** The shared Redis client (setting {@code PAM_REDIS_URL}); use it only on the blocking executor. */
    public PamRedis redis() {
        PamRedis r = redis;
        if (r == null) {
            synchronized (this) {
                r = redis;
                if (r == null) {
                    r = PamRedis.fromSetting(env::setting);
                    env.onShutdown(r);
                    redis = r;
                }
            }
        }
        return r;
    }
}
