package io.inferencepam.pam.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The runner's Redis clients send a pipeline of ≈ 30 KB (one audit write) in one socket write:
 * Jedis's output buffer is sized before its first connection, unless the operator sized it.
 * (Jedis reads the JVM-wide property once; these tests check what the runner leaves there.)
 */
class PamRedisOutputBufferTest {
    private String saved;

    @BeforeEach
    void clear() {
        saved = System.getProperty(PamRedis.OUTPUT_BUFFER_PROPERTY);
        System.clearProperty(PamRedis.OUTPUT_BUFFER_PROPERTY);
    }

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(PamRedis.OUTPUT_BUFFER_PROPERTY);
        } else {
            System.setProperty(PamRedis.OUTPUT_BUFFER_PROPERTY, saved);
        }
    }

    @Test
    void aClientSizesTheBufferBeforeItConnects() {
        try (PamRedis redis = new PamRedis("redis://127.0.0.1:1")) {
            redis.newClient().close(); // the pool connects lazily: no server needed
        }
        assertThat(System.getProperty(PamRedis.OUTPUT_BUFFER_PROPERTY)).isEqualTo("65536");
    }

    @Test
    void anOperatorsSizeIsKept() {
        System.setProperty(PamRedis.OUTPUT_BUFFER_PROPERTY, "16384");
        try (PamRedis redis = new PamRedis("redis://127.0.0.1:1")) {
            redis.newClient().close();
        }
        assertThat(System.getProperty(PamRedis.OUTPUT_BUFFER_PROPERTY)).isEqualTo("16384");
    }
}
