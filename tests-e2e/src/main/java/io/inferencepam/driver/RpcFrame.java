package io.inferencepam.driver;

/**
 * One frame of the ext-plugin protocol as the driver sent or received it, for transcripts and
 * conformance comparisons. {@code connection} numbers the driver's runner connections from 1, like
 * the recordings' {@code conn} field (the numbering differs, the pattern of reuse is comparable).
 *
 * @param queued a runner frame that was already waiting on the connection when the driver answered
 *               the ExtraInfo question before it: the runner sent it without waiting for that answer
 *               (a pipelined batch, conformance R2b). False for every other frame. It counts round
 *               trips ({@link GatewayResult#extraInfoRoundTrips}).
 */
public record RpcFrame(Direction direction, int type, byte[] payload, int connection, boolean queued) {
    public enum Direction { APISIX_TO_RUNNER, RUNNER_TO_APISIX }

    public RpcFrame(Direction direction, int type, byte[] payload, int connection) {
        this(direction, type, payload, connection, false);
    }
}
