package io.inferencepam.pam.record.archive;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;

/**
 * The lease that makes one archiver per stream, with a fencing token: taken with
 * {@code archive_lease.lua} (each new lease takes the next number of a counter), renewed by its
 * holder on every pass, and checked by {@code archive_commit.lua} in the same script that trims
 * the stream. An archiver that was paused past the lease's ttl (a GC pause, a stopped VM) finds
 * its token replaced: its trim is refused, and the next holder resumes from the archived cursor.
 * Keys derive from the stream key, so they share its hash tag (one Redis Cluster slot).
 */
public final class ArchiveLease {
    static final String LEASE_SCRIPT = script("archive_lease.lua");
    static final String COMMIT_SCRIPT = script("archive_commit.lua");

    private final UnifiedJedis jedis;
    private final String leaseKey;
    private final String fenceKey;
    private final String owner;
    private final Duration ttl;
    private String token = "";

    public ArchiveLease(UnifiedJedis jedis, String streamKey, String owner, Duration ttl) {
        this.jedis = jedis;
        this.leaseKey = leaseKey(streamKey);
        this.fenceKey = streamKey + ":archiver:fence";
        this.owner = owner;
        this.ttl = ttl;
    }

    public static String leaseKey(String streamKey) {
        return streamKey + ":archiver";
    }

    /** Takes or renews the lease; false when another archiver holds it. */
    public boolean acquire() {
        Object r = jedis.eval(LEASE_SCRIPT, List.of(leaseKey, fenceKey), List.of(token, owner, Long.toString(ttl.toMillis())));
        token = r == null ? "" : r.toString();
        return !token.isEmpty();
    }

    public boolean held() {
        return !token.isEmpty();
    }

    /** The fencing token of the lease this archiver holds ({@code <number>:<owner>}), empty when none. */
    public String token() {
        return token;
    }

    /** Moves the archived cursor to {@code last} and trims the stream up to it, if this archiver still holds the lease. */
    boolean commit(String cursorKey, String streamKey, StreamId last) {
        Object r = jedis.eval(COMMIT_SCRIPT, List.of(leaseKey, cursorKey, streamKey), List.of(token, last.toString()));
        boolean ok = r instanceof Long l && l == 1L;
        if (!ok) {
            token = "";
        }
        return ok;
    }

    /** Gives the lease up (shutdown), so another archiver need not wait for it to expire. */
    public void release() {
        if (!token.isEmpty()) {
            jedis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                    List.of(leaseKey), List.of(token));
            token = "";
        }
    }

    private static String script(String file) {
        try (InputStream in = ArchiveLease.class.getResourceAsStream("/io/inferencepam/pam/redis/lua/" + file)) {
            if (in == null) {
                throw new IllegalStateException("missing Lua script " + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
