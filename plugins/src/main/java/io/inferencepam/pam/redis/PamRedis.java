package io.inferencepam.pam.redis;

import java.net.URI;
import java.util.Set;
import java.util.function.Function;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * The runner's one Redis client, created on first use from setting {@code PAM_REDIS_URL}
 * (default {@code redis://127.0.0.1:6379}). Jedis is blocking: call it only from
 * {@link io.inferencepam.runner.spi.PluginEnvironment#blockingExecutor()} or a dedicated thread,
 * never from a plugin or event-loop thread.
 *
 * <p>With {@code PAM_REDIS_CLUSTER=true} the URL names one seed node of a Redis Cluster (the
 * client discovers the others). A Cluster client sends each command <em>at most once</em>: Jedis
 * would otherwise resend a command after a connection error, and a script whose reply was lost
 * (a quota count, an audit XADD) would then run twice. Callers that can prove a command did not
 * run (a MOVED/ASK redirection, NOSCRIPT) may send it again themselves.
 */
public final class PamRedis implements AutoCloseable {
    public static final String SETTING = "PAM_REDIS_URL";
    /** {@code true}: {@link #SETTING} names a seed node of a Redis Cluster. */
    public static final String CLUSTER_SETTING = "PAM_REDIS_CLUSTER";
    public static final String DEFAULT_URL = "redis://127.0.0.1:6379";
    /** Short: a dead Redis must turn into a fast 503, not a request stuck until APISIX's 60 s. */
    static final int TIMEOUT_MILLIS = 2_000;
    /** One attempt per command (see the class comment); a redirection then fails the command, which the caller may resend. */
    static final int CLUSTER_ATTEMPTS = 1;

    private final URI uri;
    private final boolean cluster;
    private volatile UnifiedJedis client;

    public PamRedis(String url) {
        this(url, false);
    }

    public PamRedis(String url, boolean cluster) {
        this.cluster = cluster;
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
        boolean cluster = settings.apply(CLUSTER_SETTING).map(v -> v.trim().equalsIgnoreCase("true")).orElse(false);
        return new PamRedis(settings.apply(SETTING).filter(s -> !s.isBlank()).orElse(DEFAULT_URL), cluster);
    }

    /** True when {@link #client()} talks to a Redis Cluster. */
    public boolean cluster() {
        return cluster;
    }

    /** The shared client; connects lazily (the pool opens connections on first command). */
    public UnifiedJedis client() {
        UnifiedJedis c = client;
        if (c == null) {
            synchronized (this) {
                c = client;
                if (c == null) {
                    c = connect();
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
        return connect();
    }

    /**
     * Jedis's output buffer, 8 KiB by default, is flushed to the socket whenever it fills: an audit
     * write of 13 entries (≈ 30 KB, one pipeline) then takes four socket writes, and on loopback
     * each runs Redis's receive path too. 64 KiB sends a whole pipeline of that size in one
     * write (the store thread's CPU per entry 0.6–0.75× in {@code SinkWriteCpuAB}). Jedis reads
     * the size from this JVM-wide property once, when its first connection opens, so it is set
     * here, before any, unless the operator set it ({@code -Djedis.bufferSize.output=N}).
     */
    static final String OUTPUT_BUFFER_PROPERTY = "jedis.bufferSize.output";
    static final int OUTPUT_BUFFER_BYTES = 64 * 1024;

    private static void sizeOutputBuffer() {
        if (System.getProperty(OUTPUT_BUFFER_PROPERTY) == null && System.getProperty("jedis.bufferSize") == null) {
            System.setProperty(OUTPUT_BUFFER_PROPERTY, Integer.toString(OUTPUT_BUFFER_BYTES));
        }
    }

    private UnifiedJedis connect() {
        sizeOutputBuffer();
        if (!cluster) {
            return new JedisPooled(uri, TIMEOUT_MILLIS);
        }
        JedisClientConfig config = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(TIMEOUT_MILLIS).socketTimeoutMillis(TIMEOUT_MILLIS)
                .user(JedisURIHelper.getUser(uri)).password(JedisURIHelper.getPassword(uri))
                .ssl(JedisURIHelper.isRedisSSLScheme(uri)).build();
        return new JedisCluster(Set.of(new HostAndPort(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort())), config, CLUSTER_ATTEMPTS, new ConnectionPoolConfig());
    }

    /**
     * A separate client for a blocking SUBSCRIBE loop: a subscription holds its connection for as
     * long as it lives, so it must not borrow from the pool that serves requests.
     */
    public redis.clients.jedis.Jedis newSubscriberConnection() {
        sizeOutputBuffer();
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
