package io.inferencepam.pam.redis;

import java.net.URI;
import java.util.function.Function;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;

/**
 * The runner's one Redis client, created on first use from setting {@code PAM_REDIS_URL}
 * (default {@code redis://127.0.0.1:6379}). Jedis is blocking: call it only from
 * {@link io.inferencepam.runner.spi.PluginEnvironment#blockingExecutor()} or a dedicated thread,
 * never from a plugin or event-loop thread.
 */
public final class PamRedis implements AutoCloseable {
    public static final String SETTING = "PAM_REDIS_URL";
    public static final String DEFAULT_URL = "redis://127.0.0.1:6379";
    /** Short: a dead Redis must turn into a fast 503, not a request stuck until APISIX's 60 s. */
    static final int TIMEOUT_MILLIS = 2_000;

    private final URI uri;
    private volatile UnifiedJedis client;

    public PamRedis(String url) {
        URI parsed;
        try {
            parsed = new URI(url);
        } catch (java.net.URISyntaxException e) {
            // No cause and no input: the URL may carry a password, and this message reaches logs.
            throw new IllegalArgumentException(SETTING + " is not a valid URL");
        }
        this.uri = parsed;
        if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme())) {
            throw new IllegalArgumentException(SETTING + " must be a redis:// or rediss:// URL");
        }
    }

    public static PamRedis fromSetting(Function<String, java.util.Optional<String>> settings) {
        return new PamRedis(settings.apply(SETTING).filter(s -> !s.isBlank()).orElse(DEFAULT_URL));
    }

    /** The shared client; connects lazily (the pool opens connections on first command). */
    public UnifiedJedis client() {
        UnifiedJedis c = client;
        if (c == null) {
            synchronized (this) {
                c = client;
                if (c == null) {
                    c = new JedisPooled(uri, TIMEOUT_MILLIS);
                    client = c;
                }
            }
        }
        return c;
    }

    /**
     * A client with a pool of its own, which the caller closes. For a background user (the audit
     * store) that must not compete with the threads serving requests for the shared pool's
     * connections and lock.
     */
    public UnifiedJedis newClient() {
        return new JedisPooled(uri, TIMEOUT_MILLIS);
    }

    /**
     * A separate client for a blocking SUBSCRIBE loop: a subscription holds its connection for as
     * long as it lives, so it must not borrow from the pool that serves requests.
     */
    public redis.clients.jedis.Jedis newSubscriberConnection() {
        return new redis.clients.jedis.Jedis(uri, TIMEOUT_MILLIS, 0 /* no read timeout while subscribed */);
    }

    /** Host and port only: the URL may carry a password. */
    public String describe() {
        return uri.getHost() + ":" + (uri.getPort() < 0 ? 6379 : uri.getPort());
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
            client = null;
        }
    }
}
