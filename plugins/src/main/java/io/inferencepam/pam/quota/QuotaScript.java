package io.inferencepam.pam.quota;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisClusterOperationException;
import redis.clients.jedis.exceptions.JedisNoScriptException;
import redis.clients.jedis.exceptions.JedisRedirectionException;

/**
 * One Lua script of {@code redis-schema/lua}, run with EVALSHA (the server keeps the script; a call
 * sends 40 bytes instead of the source) and EVAL when the server answers NOSCRIPT (after a restart
 * or SCRIPT FLUSH; EVAL also caches it again). Both are one round trip in the normal case.
 *
 * <p>A script is sent again only when the failure proves it did not run: NOSCRIPT, or a Cluster
 * redirection (MOVED/ASK: the node did not own the slot). A connection error or a timeout is never
 * retried, because the script may have run and a second run would count the call twice
 * ({@link io.inferencepam.pam.redis.PamRedis} sends each command at most once for the same reason).
 * Blocking: run it on the blocking executor.
 */
final class QuotaScript {
    /** Redirections followed per call: one MOVED after a resharding, one more for a slot in migration. */
    static final int MAX_REDIRECTS = 2;

    private final String source;
    private final String sha;

    private QuotaScript(String source) {
        this.source = source;
        this.sha = sha1(source);
    }

    static QuotaScript load(String file) {
        try (InputStream in = QuotaScript.class.getResourceAsStream("/io/inferencepam/pam/redis/lua/" + file)) {
            if (in == null) {
                throw new IllegalStateException("missing Lua script " + file);
            }
            return new QuotaScript(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read Lua script " + file, e);
        }
    }

    String sha() {
        return sha;
    }

    Object run(UnifiedJedis redis, List<String> keys, List<String> args) {
        for (int redirects = 0; ; redirects++) {
            try {
                try {
                    return redis.evalsha(sha, keys, args);
                } catch (JedisNoScriptException notLoaded) {
                    return redis.eval(source, keys, args);
                }
            } catch (JedisClusterOperationException e) {
                if (redirects >= MAX_REDIRECTS || !redirected(e)) {
                    throw e;
                }
            }
        }
    }

    /** The Cluster client gave up after a MOVED/ASK reply (it renewed its slot map on MOVED): the script did not run. */
    private static boolean redirected(JedisClusterOperationException e) {
        for (Throwable s : e.getSuppressed()) {
            if (s instanceof JedisRedirectionException) {
                return true;
            }
        }
        return false;
    }

    private static String sha1(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
