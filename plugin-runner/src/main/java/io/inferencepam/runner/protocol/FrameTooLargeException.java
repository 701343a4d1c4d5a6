package io.inferencepam.runner.protocol;

/**
 * A reply whose payload does not fit the 3-byte length of one frame ({@link RpcType#MAX_PAYLOAD}).
 * Thrown while the reply is built, on the thread that built it, so the caller can answer a safe
 * error instead: written, such a reply would fail in the encoder and close the connection, and in
 * the response phase APISIX then sends the original, unmasked body (conformance P6, P10).
 * The message carries sizes only, never payload bytes.
 */
public final class FrameTooLargeException extends RuntimeException {
    private final long payloadBytes;

    public FrameTooLargeException(long payloadBytes) {
        super("reply of " + payloadBytes + " bytes does not fit one frame (at most " + RpcType.MAX_PAYLOAD + ")", null, false, false);
        this.payloadBytes = payloadBytes;
    }

    public long payloadBytes() {
        return payloadBytes;
    }
}
