package io.inferencepam.pam.auth;

import io.inferencepam.runner.spi.Stop;
import java.util.concurrent.CompletionException;

/**
 * What the client receives when the upstream credential cannot be injected: always 503 (the call
 * never reaches the model server without it), with a code that tells the operator what to do.
 */
final class CredentialRefusal {
    private CredentialRefusal() {
    }

    /** The error code for a failed credential lookup ({@link CredentialCache.Unavailable#code()}, else the store's). */
    static String code(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        return t instanceof CredentialCache.Unavailable u ? u.code() : CredentialCache.STORE_UNAVAILABLE;
    }

    static Stop stop(String code) {
        String message = switch (code) {
            case CredentialCache.NOT_CONFIGURED ->
                    "The gateway holds no credential for this model server; an operator must configure it.";
            case CredentialCache.UNUSABLE ->
                    "The gateway's credential for this model server cannot be used; an operator must store it again.";
            default -> "The gateway cannot reach the model server's credential right now; try again shortly.";
        };
        String c = switch (code) {
            case CredentialCache.NOT_CONFIGURED, CredentialCache.UNUSABLE -> code;
            default -> CredentialCache.STORE_UNAVAILABLE;
        };
        return Stop.openAiError(503, "server_error", c, message);
    }
}
