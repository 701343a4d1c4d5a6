package io.inferencepam.runner.protocol;

/** The 1-byte frame types of the ext-plugin protocol (api7/ext-plugin-proto). */
public final class RpcType {
    public static final byte ERROR = 0;
    public static final byte PREPARE_CONF = 1;
    public static final byte HTTP_REQ_CALL = 2;
    public static final byte EXTRA_INFO = 3;
    public static final byte HTTP_RESP_CALL = 4;

    /** 3-byte length field: the protocol cannot carry more. */
    public static final int MAX_PAYLOAD = 0xFFFFFF;

    private RpcType() {
    }

    public static String name(int type) {
        return switch (type) {
            case ERROR -> "RPC_ERROR";
            case PREPARE_CONF -> "RPC_PREPARE_CONF";
            case HTTP_REQ_CALL -> "RPC_HTTP_REQ_CALL";
            case EXTRA_INFO -> "RPC_EXTRA_INFO";
            case HTTP_RESP_CALL -> "RPC_HTTP_RESP_CALL";
            default -> "UNKNOWN(" + type + ")";
        };
    }
}
