package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.EOFException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Malformed, unexpected, oversized and truncated frames get RPC_ERROR and/or a closed connection —
 * never a crash or a stuck connection — and the runner keeps serving other connections.
 */
class MalformedFramesTest {
    static final Duration T = Duration.ofSeconds(10);
    static RunnerProcess runner;

    @BeforeAll
    static void start() throws Exception {
        runner = RunnerProcess.start(Map.of("PAM_MAX_FRAME_BYTES", "4096", "PAM_PARTIAL_FRAME_TIMEOUT_MS", "300"));
    }

    @AfterAll
    static void stop() throws Exception {
        runner.close();
    }

    @AfterEach
    void runnerStillServes() throws Exception {
        assertServes(runner);
    }

    static void assertServes(RunnerProcess r) throws IOException {
        assertThat(r.process().isAlive()).as("runner process alive").isTrue();
        try (RunnerConnection c = RunnerConnection.open(r.socket())) {
            c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-noop", "{}")), "route#probe#ext-plugin-pre-req#1"), T);
            assertThat(c.read(T).type()).isEqualTo(A6Client.RPC_PREPARE_CONF);
        }
    }

    /** Frames the runner sent until it closed the connection; fails if it neither closes nor errors within the timeout. */
    static List<RunnerConnection.Frame> untilClosed(RunnerConnection c) throws IOException {
        List<RunnerConnection.Frame> frames = new ArrayList<>();
        while (true) {
            try {
                frames.add(c.read(T));
            } catch (EOFException e) {
                return frames;
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().contains("reset")) {
                    return frames;
                }
                throw e;
            }
        }
    }

    static void assertBadRequestThenClosed(List<RunnerConnection.Frame> frames) {
        assertThat(frames).hasSize(1);
        assertThat(frames.get(0).type()).isEqualTo(A6Client.RPC_ERROR);
        assertThat(A6Client.decodeError(frames.get(0).payload())).isEqualTo(0);
    }

    @Test
    void garbageFlatBuffersOfEveryCallType() throws Exception {
        Random random = new Random(42);
        for (int type : new int[] {1, 2, 4}) {
            for (int len : new int[] {0, 3, 4, 8, 64, 512}) {
                byte[] garbage = new byte[len];
                random.nextBytes(garbage);
                try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
                    c.send(type, garbage, T);
                    List<RunnerConnection.Frame> frames = untilClosedOrReply(c);
                    // either RPC_ERROR (BAD_REQUEST, or CONF_TOKEN_NOT_FOUND if the garbage decodes to a call) or a close
                    for (RunnerConnection.Frame f : frames) {
                        assertThat(f.type()).as("type " + type + " len " + len).isIn(A6Client.RPC_ERROR, type);
                    }
                }
            }
        }
    }

    /** Like {@link #untilClosed} but a single well-formed reply also ends it (garbage can decode to a valid message). */
    static List<RunnerConnection.Frame> untilClosedOrReply(RunnerConnection c) throws IOException {
        List<RunnerConnection.Frame> frames = new ArrayList<>();
        try {
            RunnerConnection.Frame f = c.read(T);
            frames.add(f);
            if (f.type() == A6Client.RPC_ERROR) {
                frames.addAll(untilClosed(c));
            }
        } catch (EOFException e) {
            // closed
        }
        return frames;
    }

    @Test
    void unknownFrameType() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.send(9, A6Client.prepareConf(List.of(new ConfEntry("test-noop", "{}")), "k"), T);
            assertBadRequestThenClosed(untilClosed(c));
        }
    }

    @Test
    void extraInfoAnswerWithoutAQuestion() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(new byte[] {1, 2, 3}), T);
            assertBadRequestThenClosed(untilClosed(c));
        }
    }

    @Test
    void aSecondCallWhileTheFirstIsUnanswered() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-inspect", "{\"vars\":[\"x\"]}")), "route#m#ext-plugin-pre-req#1"), T);
            long token = A6Client.decodePrepareReply(c.read(T).payload());
            byte[] call = A6Client.requestCall(1, token, new byte[] {127, 0, 0, 1}, 0, "/", List.of(), List.of());
            c.send(A6Client.RPC_HTTP_REQ_CALL, call, T);
            assertThat(c.read(T).type()).isEqualTo(A6Client.RPC_EXTRA_INFO);
            c.send(A6Client.RPC_HTTP_REQ_CALL, call, T);
            assertBadRequestThenClosed(untilClosed(c));
        }
    }

    @Test
    void oversizedLengthHeader() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.sendRaw(new byte[] {2, 0, 0x20, 0}, T); // 8192 > PAM_MAX_FRAME_BYTES=4096, no payload needed
            assertBadRequestThenClosed(untilClosed(c));
        }
    }

    @Test
    void truncatedFrameIsClosedAfterThePartialFrameTimeout() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.sendRaw(new byte[] {2, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, T);
            assertThat(untilClosed(c)).as("no reply to half a frame, just a close").isEmpty();
        }
    }

    @Test
    void truncatedHeaderIsClosedToo() throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            c.sendRaw(new byte[] {2, 0}, T);
            assertThat(untilClosed(c)).isEmpty();
        }
    }
}
