package io.inferencepam.pam.record.sink;

import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import redis.clients.jedis.ClusterCommandArguments;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.args.Rawable;
import redis.clients.jedis.params.XAddParams;
import redis.clients.jedis.params.XTrimParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Audit entries in one Redis stream (key hash-tagged, {@code pam:{audit}:records}), one XADD per
 * entry, a batch in one pipeline. Fields: {@code i} instance, {@code s} sequence number, {@code r}
 * the canonical JSON entry. Retention: {@code MAXLEN ~ n} on every XADD, and/or
 * {@code MINID ~ now-maxAge} (by XTRIM once per batch when both are set, since one XADD takes one
 * trimming strategy).
 */
public final class RedisStreamSink implements AuditSink {
    public static final String DEFAULT_KEY = "pam:{audit}:records";
    private static final int PAGE = 1000;

    private final UnifiedJedis jedis;
    private final String key;
    private final long maxLen;
    private final Duration maxAge;
    private final Clock clock;
    private final byte[] keyBytes;
    // a cluster pipeline routes each command by the slot its arguments computed (it casts to ClusterCommandArguments)
    private final boolean cluster;
    private static final Rawable FIELD_INSTANCE = new Bytes(new byte[] {'i'});
    private static final Rawable FIELD_SEQ = new Bytes(new byte[] {'s'});
    private static final Rawable FIELD_RECORD = new Bytes(new byte[] {'r'});
    // the writer's store thread only (one instance per chain, so this almost always hits)
    private String lastInstance;
    private Bytes lastInstanceArg;

    public RedisStreamSink(UnifiedJedis jedis, String key, long maxLen, Duration maxAge, Clock clock) {
        this.jedis = jedis;
        this.key = key;
        this.maxLen = maxLen;
        this.maxAge = maxAge;
        this.clock = clock;
        this.keyBytes = key.getBytes(StandardCharsets.UTF_8);
        this.cluster = jedis instanceof JedisCluster;
    }

    public String key() {
        return key;
    }

    @Override
    public String kind() {
        return "redis-stream";
    }

    @Override
    public void write(List<ChainedEntry> batch) {
        if (batch.isEmpty()) {
            return;
        }
        XAddParams params = XAddParams.xAddParams();
        String minId = maxAge.isZero() ? null : Long.toString(clock.millis() - maxAge.toMillis());
        if (maxLen > 0) {
            params.maxLen(maxLen).approximateTrimming();
        } else if (minId != null) {
            params.minId(minId).approximateTrimming();
        }
        try (var p = jedis.pipelined()) {
            List<Response<Object>> replies = new ArrayList<>(batch.size());
            for (ChainedEntry e : batch) {
                // XADD key [trim] * i <instance> s <seq> r <entry>: the entry's bytes as hashed,
                // passed through as they are (Jedis copies a byte[] argument; a Rawable it sends as is).
                CommandArguments xadd = xaddArguments().key(keyBytes).addParams(params)
                        .add(FIELD_INSTANCE).add(instanceArg(e.instance()))
                        .add(FIELD_SEQ).add(e.seq())
                        .add(FIELD_RECORD).add(new Bytes(e.utf8()));
                replies.add(p.sendCommand(xadd));
            }
            if (maxLen > 0 && minId != null) {
                p.xtrim(keyBytes, XTrimParams.xTrimParams().minId(minId).approximateTrimming());
            }
            p.sync();
            for (Response<Object> r : replies) {
                r.get(); // throws if that XADD failed
            }
        }
    }

    private CommandArguments xaddArguments() {
        return cluster ? new ClusterCommandArguments(Protocol.Command.XADD) : new CommandArguments(Protocol.Command.XADD);
    }

    /** A command argument sent as the bytes it holds, without the copy Jedis makes of a {@code byte[]}. Never modified. */
    private record Bytes(byte[] raw) implements Rawable {
        @Override
        public byte[] getRaw() {
            return raw;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && java.util.Arrays.equals(raw, b.raw);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(raw);
        }
    }

    private Rawable instanceArg(String instance) {
        Bytes cached = lastInstanceArg;
        if (cached == null || !instance.equals(lastInstance)) {
            cached = new Bytes(instance.getBytes(StandardCharsets.UTF_8));
            lastInstance = instance;
            lastInstanceArg = cached;
        }
        return cached;
    }

    @Override
    public long highestSeq(String instance) {
        return newestOf(instance).map(e -> Long.parseLong(e.getFields().get("s"))).orElse(0L);
    }

    @Override
    public Optional<StoredEntry> newest(String instance) {
        return newestOf(instance).map(e -> new StoredEntry(e.getID().toString(), e.getFields().getOrDefault("r", "")));
    }

    /**
     * Trimming by MAXLEN keeps at least MAXLEN entries, so a stream shorter than that was never
     * trimmed by length (an attacker who pads it to look trimmed adds entries verify reports).
     * Once the archiver has archived (its cursor exists) it trims the stream's head: a chain's
     * missing head is then in the archive (verify the archive, {@code --file ARCHIVE_DIR}).
     */
    @Override
    public ChainVerifier.Retention retention() {
        boolean full = maxLen > 0 && jedis.xlen(key) >= maxLen;
        boolean archived = jedis.exists(StreamArchiver.cursorKey(key));
        return new ChainVerifier.Retention(full || archived, maxAge);
    }

    private Optional<StreamEntry> newestOf(String instance) {
        // The newest entry is almost always this instance's: look at it alone first, then widen.
        // A fixed page of 1000 moved megabytes per drain pass (entries are KBs) while spooling.
        String end = "+";
        int scanned = 0;
        int page = 1;
        while (scanned < 100_000) {
            List<StreamEntry> entries = jedis.xrevrange(key, end, "-", page);
            for (StreamEntry e : entries) {
                if (instance.equals(e.getFields().get("i"))) {
                    return Optional.of(e);
                }
            }
            if (entries.size() < page) {
                return Optional.empty();
            }
            scanned += entries.size();
            end = "(" + entries.get(entries.size() - 1).getID();
            page = Math.min(PAGE, page * 10);
        }
        return Optional.empty();
    }

    @Override
    public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) {
        String start = fromEpochMillis <= 0 ? "-" : Long.toString(fromEpochMillis);
        while (true) {
            List<StreamEntry> page = jedis.xrange(key, start, "+", PAGE);
            for (StreamEntry e : page) {
                String json = e.getFields().get("r");
                if (!visitor.test(new StoredEntry(e.getID().toString(), json == null ? "" : json))) {
                    return;
                }
            }
            if (page.size() < PAGE) {
                return;
            }
            start = "(" + page.get(page.size() - 1).getID();
        }
    }
}
