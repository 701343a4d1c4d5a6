package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunnerConfigTest {
    @Test
    void readsApisixLaunchContract() {
        RunnerConfig c = RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "unix:/tmp/a.sock", "APISIX_CONF_EXPIRE_TIME", "120"));
        assertThat(c.socketPath()).isEqualTo(Path.of("/tmp/a.sock"));
        assertThat(c.confExpire()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.socketMode()).isEqualTo(0660);
        assertThat(c.confCacheCapacity()).isGreaterThanOrEqualTo(10_000);
        assertThat(c.callDeadline()).isLessThan(Duration.ofSeconds(60));
    }

    @Test
    void refusesMissingOrBadSettingsWithAClearMessage() {
        assertThatThrownBy(() -> RunnerConfig.from(Map.of())).hasMessageContaining("APISIX_LISTEN_ADDRESS");
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "unix:/x", "PAM_SOCKET_MODE", "rw")))
                .hasMessageContaining("PAM_SOCKET_MODE");
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "unix:/x", "PAM_CALL_DEADLINE_MS", "-5")))
                .hasMessageContaining("PAM_CALL_DEADLINE_MS must be positive");
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "unix:")))
                .hasMessageContaining("no socket path");
    }

    @Test
    void thePrepareConfDeadlineIsItsOwnAndNeverShorterThanTheCallsByDefault() {
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_CALL_DEADLINE_MS", "1500")).prepareDeadline())
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_CALL_DEADLINE_MS", "30000")).prepareDeadline())
                .isEqualTo(Duration.ofSeconds(30));
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_CALL_DEADLINE_MS", "90000")).prepareDeadline())
                .isEqualTo(RunnerConfig.MAX_HOLD_LIMIT);
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_PREPARE_DEADLINE_MS", "700")).prepareDeadline())
                .isEqualTo(Duration.ofMillis(700));
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_PREPARE_DEADLINE_MS", "60000")))
                .hasMessageContaining("PAM_PREPARE_DEADLINE_MS must be at most 55000");
    }

    @Test
    void framesCannotExceedTheProtocolLimit() {
        RunnerConfig c = RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_MAX_FRAME_BYTES", "999999999"));
        assertThat(c.maxFramePayload()).isEqualTo(0xFFFFFF);
    }

    @Test
    void theShutdownDrainDefaultsWellUnderApisixsKillDelayAndMayBeZero() {
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x")).shutdownDrain()).isEqualTo(Duration.ofMillis(400));
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_SHUTDOWN_DRAIN_MS", "0")).shutdownDrain()).isZero();
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_SHUTDOWN_DRAIN_MS", "-1")))
                .hasMessageContaining("PAM_SHUTDOWN_DRAIN_MS must not be negative");
    }

    @Test
    void theLargeBodyLaneHasFewerThreadsThanThePluginPool() {
        RunnerConfig c = RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x"));
        assertThat(c.largeBodyBytes()).isEqualTo(256 * 1024);
        assertThat(c.largeBodyThreads()).isBetween(1, c.pluginThreads() - 1);
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_LARGE_BODY_BYTES", "0")))
                .hasMessageContaining("PAM_LARGE_BODY_BYTES must be positive");
    }

    @Test
    void heldCallsMayStayOpenUpTo55SecondsUnderApisix60() {
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x")).maxHold()).isEqualTo(Duration.ofSeconds(55));
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_MAX_HOLD_MS", "30000")).maxHold())
                .isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_MAX_HOLD_MS", "60000")))
                .hasMessageContaining("at most 55000");
    }

    @Test
    void headerAbsenceFromTheFrameIsOffUnlessTheOperatorSaysTrue() {
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x")).noHeaderRemovalBeforePreReq()).isFalse();
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ", "TRUE"))
                .noHeaderRemovalBeforePreReq()).isTrue();
        assertThat(RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ", "false"))
                .noHeaderRemovalBeforePreReq()).isFalse();
        // a typo must not silently mean either: the start stops
        assertThatThrownBy(() -> RunnerConfig.from(Map.of("APISIX_LISTEN_ADDRESS", "/x", "PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ", "yes")))
                .hasMessageContaining("PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ must be true or false");
    }
}
