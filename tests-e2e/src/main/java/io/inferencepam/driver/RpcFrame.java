package io.inferencepam.driver;

/**
 * One frame of the ext-plugin protocol as the driver sent or received it, for transcripts and
 * conformance comparisons. {@code connection} numbers the driver's runner connections from 1, like
 * the recordings' {@code conn} field (the numbering differs, the pattern of reuse is comparable).
 */
public record RpcFrame(Direction direction, int type, byte[] payload, int connection) {
    public enum Direction { APISIX_TO_RUNNER, RUNNER_TO_APISIX }
}
