package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.e2e.support.RedisCluster;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import io.inferencepam.pam.redis.PamRedis;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * What the sink stores, byte for byte, in a real redis-server: one stream entry per chained entry,
 * in order, fields {@code i} (instance), {@code s} (sequence number, decimal) and {@code r} (the
 * entry's UTF-8 bytes exactly as hashed, non-ASCII included), whatever the trimming conf. The
 * store thread sends the entry bytes without copying them: this pins that nothing changed on the wire.
 */
class RedisStreamSinkE2ETest {
    private static final String KEY = "pam:{audit}:sink-test";

    @Test
    void storesEachEntryByteForByteInChainOrderUnderEveryTrimmingConf() throws Exception {
        try (RedisServer redis = RedisServer.start(); JedisPooled jedis = new JedisPooled(URI.create(redis.url()), 5000)) {
            record Conf(long maxLen, Duration maxAge) {
            }
            long seq = 0;
            List<ChainedEntry> all = new ArrayList<>();
            for (Conf c : List.of(new Conf(0, Duration.ZERO), new Conf(1_000_000, Duration.ZERO),
                    new Conf(0, Duration.ofDays(1)), new Conf(1_000_000, Duration.ofDays(1)))) {
                RedisStreamSink sink = new RedisStreamSink(jedis, KEY, c.maxLen(), c.maxAge(), Clock.systemUTC());
                List<ChainedEntry> batch = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    seq++;
                    String instance = i == 4 ? "other-instance-ü" : "runner-a";
                    batch.add(new ChainedEntry(instance, seq,
                            ("{\"n\":" + seq + ",\"t\":\"é 日本 \uD83D\uDE00 \\u0000 " + "x".repeat(i * 700) + "\"}")
                                    .getBytes(StandardCharsets.UTF_8)));
                }
                sink.write(batch);
                sink.write(List.of());
                all.addAll(batch);
            }

            // raw replies: [id, [field, value, ...]] per entry, the values as redis holds them
            List<Object> stored = jedis.xrange(KEY.getBytes(StandardCharsets.UTF_8), "-".getBytes(StandardCharsets.US_ASCII),
                    "+".getBytes(StandardCharsets.US_ASCII), 1000);
            assertThat(stored).hasSize(all.size());
            for (int i = 0; i < all.size(); i++) {
                List<?> fields = (List<?>) ((List<?>) stored.get(i)).get(1);
                ChainedEntry want = all.get(i);
                assertThat(fields).hasSize(6);
                assertThat(fields.get(0)).isEqualTo(new byte[] {'i'});
                assertThat(fields.get(1)).isEqualTo(want.instance().getBytes(StandardCharsets.UTF_8));
                assertThat(fields.get(2)).isEqualTo(new byte[] {'s'});
                assertThat(fields.get(3)).isEqualTo(Long.toString(want.seq()).getBytes(StandardCharsets.US_ASCII));
                assertThat(fields.get(4)).isEqualTo(new byte[] {'r'});
                assertThat(fields.get(5)).isEqualTo(want.utf8());
            }
            RedisStreamSink reader = new RedisStreamSink(jedis, KEY, 0, Duration.ZERO, Clock.systemUTC());
            assertThat(reader.highestSeq("runner-a")).isEqualTo(seq - 1);
            assertThat(reader.highestSeq("other-instance-ü")).isEqualTo(seq);
        }
    }

    /** The runner's cluster client pipelines per slot: the sink's XADD must carry its key's slot (a real three-master cluster). */
    @Test
    void writesThroughTheRunnersClusterClient() throws Exception {
        try (RedisCluster cluster = RedisCluster.start(3)) {
            UnifiedJedis jedis = new PamRedis(cluster.seedUrl(), true).newClient();
            try {
                RedisStreamSink sink = new RedisStreamSink(jedis, KEY, 1_000_000, Duration.ofDays(1), Clock.systemUTC());
                sink.write(List.of(new ChainedEntry("runner-a", 1, "{\"n\":1}"), new ChainedEntry("runner-a", 2, "{\"n\":2,\"t\":\"é\"}")));
                List<StreamEntry> stored = jedis.xrange(KEY, "-", "+");
                assertThat(stored).extracting(e -> e.getFields().get("r")).containsExactly("{\"n\":1}", "{\"n\":2,\"t\":\"é\"}");
                assertThat(sink.highestSeq("runner-a")).isEqualTo(2);
            } finally {
                jedis.close();
            }
        }
    }
}
