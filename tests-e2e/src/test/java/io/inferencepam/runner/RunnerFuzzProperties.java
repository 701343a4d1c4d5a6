package io.inferencepam.runner;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.RunnerConnection;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random bytes, random frames and mutated valid frames on the real socket never crash the runner:
 * after every try the process is alive and a fresh connection is served.
 */
class RunnerFuzzProperties {
    static final Duration T = Duration.ofSeconds(10);
    static RunnerProcess runner;

    @BeforeContainer
    static void start() throws Exception {
        runner = RunnerProcess.start(Map.of("PAM_PARTIAL_FRAME_TIMEOUT_MS", "200", "PAM_MAX_FRAME_BYTES", "65536"));
    }

    @AfterContainer
    static void stop() throws Exception {
        if (runner != null) {
            runner.close();
        }
    }

    @Property(tries = 150)
    void randomBytes(@ForAll @Size(max = 600) byte[] bytes) throws Exception {
        send(bytes);
    }

    @Property(tries = 150)
    void randomFramesWithConsistentLength(@ForAll @IntRange(min = 0, max = 6) int type, @ForAll @Size(max = 400) byte[] payload)
            throws Exception {
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) type;
        frame[1] = (byte) (payload.length >>> 16);
        frame[2] = (byte) (payload.length >>> 8);
        frame[3] = (byte) payload.length;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        send(frame);
    }

    @Property(tries = 200)
    void mutatedValidFrames(@ForAll("validFrames") byte[] valid, @ForAll @IntRange(min = 4, max = 10_000) int position,
                            @ForAll byte value) throws Exception {
        byte[] mutated = valid.clone();
        mutated[position % mutated.length] = value;
        send(mutated);
    }

    @Provide
    Arbitrary<byte[]> validFrames() {
        byte[] prepare = A6Client.prepareConf(List.of(new ConfEntry("test-noop", "{}"), new ConfEntry("test-inspect", "{\"vars\":[\"a\"]}")),
                "route#fuzz#ext-plugin-pre-req#1");
        byte[] call = A6Client.requestCall(3, 12345, new byte[] {10, 0, 0, 1}, 2, "/v1/chat",
                List.of(new A6Client.Entry("a", "1"), new A6Client.Entry("flag", null)),
                List.of(new A6Client.Entry("host", "h"), new A6Client.Entry("authorization", "Bearer x")));
        byte[] resp = A6Client.responseCall(4, 12345, 200, List.of(new A6Client.Entry("Content-Type", "application/json")));
        byte[] answer = A6Client.extraInfoAnswer("value".getBytes());
        return Arbitraries.of(frame(1, prepare), frame(2, call), frame(4, resp), frame(3, answer));
    }

    private static byte[] frame(int type, byte[] payload) {
        byte[] f = new byte[4 + payload.length];
        f[0] = (byte) type;
        f[1] = (byte) (payload.length >>> 16);
        f[2] = (byte) (payload.length >>> 8);
        f[3] = (byte) payload.length;
        System.arraycopy(payload, 0, f, 4, payload.length);
        return f;
    }

    private static void send(byte[] bytes) throws Exception {
        try (RunnerConnection c = RunnerConnection.open(runner.socket())) {
            try {
                c.sendRaw(bytes, T);
                c.read(Duration.ofMillis(100)); // whatever comes back (or nothing) is fine
            } catch (IOException expected) {
                // closed, reset or nothing within 100 ms: all acceptable
            }
        }
        if (!runner.process().isAlive()) {
            throw new AssertionError("runner died:\n" + runner.log());
        }
        try (RunnerConnection probe = RunnerConnection.open(runner.socket())) {
            probe.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(List.of(new ConfEntry("test-noop", "{}")), "route#probe#ext-plugin-pre-req#1"), T);
            if (probe.read(T).type() != A6Client.RPC_PREPARE_CONF) {
                throw new AssertionError("runner stopped serving");
            }
        }
    }
}
