package io.inferencepam.pam.auth;

/**
 * Why pam-auth refuses a request: what the client sees (status, OpenAI error type and code, a
 * message that says what to do) and the stable reason recorded in the audit and metrics.
 * Messages never contain tokens, secrets or body content.
 */
public record Rejection(int status, String type, String code, String message) {

    static Rejection badRequest(String code, String message) {
        return new Rejection(400, "invalid_request_error", code, message);
    }
}
