package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.e2e.support.RedisCluster;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.redis.PamRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;

/**
 * In Redis Cluster mode the archiver's cursor and lease keys must share the stream's slot: a
 * stream key without a hash tag is refused up front (it could never commit), a tagged one archives
 * and trims. A real three-master cluster, the runner's own cluster client.
 */
class PamRecordArchiveClusterE2ETest {

    @Test
    void aStreamKeyWithoutHashTagIsRefusedATaggedOneArchives() throws Exception {
        try (RedisCluster cluster = RedisCluster.start(3)) {
            UnifiedJedis jedis = new PamRedis(cluster.seedUrl(), true).newClient();
            try {
                Path dir = Files.createTempDirectory("pam-archive-cluster");
                Optional<CheckpointSigner> signer = Optional.of(CheckpointSigner.fromPkcs8Base64(CheckpointSigner.generate()[0]));
                assertThatThrownBy(() -> new StreamArchiver(jedis, "pam:audit:records", new ArchiveDirectory(dir),
                        ArchiveSupport.settings(dir, 1 << 20, Duration.ofSeconds(30)), "a", Clock.systemUTC(), signer))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hash tag");

                String stream = "pam:{audit-c}:records";
                for (int i = 0; i < 5; i++) {
                    jedis.xadd(stream, StreamEntryID.NEW_ENTRY, Map.of("r", "{\"n\":" + i + "}"));
                }
                StreamArchiver a = new StreamArchiver(jedis, stream, new ArchiveDirectory(dir),
                        ArchiveSupport.settings(dir, 1 << 20, Duration.ofSeconds(30)), "a", Clock.systemUTC(), signer);
                assertThat(a.runOnce(true).entries()).isEqualTo(5);
                a.close();
                assertThat(jedis.xlen(stream)).isEqualTo(1); // trimmed up to the last archived entry, kept at the head
                assertThat(ArchiveSupport.archived(dir)).hasSize(5);
            } finally {
                jedis.close();
            }
        }
    }
}
