package io.inferencepam.pam.mask;

/**
 * Why a response could not be inspected; it becomes a safe error response. The message is ours,
 * never derived from the body.
 */
public final class MaskFailure extends RuntimeException {
    private final int status;
    private final String code;

    public MaskFailure(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public static MaskFailure unscannable(String why) {
        return new MaskFailure(502, "response_unscannable",
                "The gateway could not inspect the model's response (" + why + "), so it was withheld.");
    }
}
