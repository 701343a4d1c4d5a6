package io.inferencepam.runner.protocol;

/** Codes of the RPC_ERROR frame. */
public enum ErrorCode {
    BAD_REQUEST(0),
    SERVICE_UNAVAILABLE(1),
    CONF_TOKEN_NOT_FOUND(2);

    private final int wire;

    ErrorCode(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }
}
