package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.Stop;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a caller of a held route is told. OpenAI-style errors, so every SDK raises an exception
 * with the message; statuses chosen with SDK retries in mind (the OpenAI SDKs retry 408, 409, 429
 * and 5xx on their own, and honour {@code x-should-retry}):
 * <ul>
 *   <li>403 for "not yet" and "not for you" ({@code approval_pending}, {@code approval_denied},
 *       {@code approval_principal_mismatch}): never retried, so an SDK does not resend a held call
 *       in a loop that a human will take minutes to answer;</li>
 *   <li>409 for an approval that cannot be used any more or not for this request
 *       ({@code approval_already_used}, {@code approval_expired}, {@code approval_request_mismatch}),
 *       with {@code x-should-retry: false}: a retry would get the same answer;</li>
 *   <li>429 {@code approval_limit_reached} with {@code x-should-retry: false};</li>
 *   <li>503 when the approval store is down: retrying is right, nothing was written.</li>
 * </ul>
 * The approval id travels in the body ({@code error.approval}) and in {@code x-pam-approval-id}.
 */
final class ApprovalErrors {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String ID_HEADER = "x-pam-approval-id";

    private ApprovalErrors() {
    }

    static Stop pending(String id, long expiresMillis, String statusUrl, String rules, boolean joined) {
        String msg = "This request needs a reviewer's approval before it runs (hold rule " + rules + "). "
                + (joined ? "It is already waiting for approval " : "Approval ") + id + " is pending until "
                + Instant.ofEpochMilli(expiresMillis) + "; status: " + statusUrl + ". Once it is approved, send the "
                + "identical request again (optionally with the header X-PAM-Approval: " + id + "): it will run once.";
        return stop(403, "invalid_request_error", "approval_pending", msg, id, "pending", expiresMillis, statusUrl);
    }

    static Stop denied(String id, long expiresMillis, String statusUrl) {
        return stop(403, "invalid_request_error", "approval_denied", "A reviewer denied this request (approval " + id
                + "; details: " + statusUrl + "). It will not run; to ask again, send it with the header X-PAM-Approval: new.",
                id, "denied", expiresMillis, statusUrl);
    }

    static Stop used(String id, long expiresMillis, String statusUrl) {
        return stop(409, "invalid_request_error", "approval_already_used", "Approval " + id + " was for one run of this "
                + "request and it has already run. To run it again, send it with the header X-PAM-Approval: new to ask for "
                + "a new approval.", id, "used", expiresMillis, statusUrl);
    }

    static Stop expired(String id, long expiresMillis, String statusUrl) {
        return stop(409, "invalid_request_error", "approval_expired", "Approval " + id + " expired at "
                + Instant.ofEpochMilli(expiresMillis) + " before it was used. Send the request without X-PAM-Approval "
                + "to ask for a new approval.", id, "expired", expiresMillis, statusUrl);
    }

    static Stop mismatch(String id, long expiresMillis, String statusUrl) {
        return stop(409, "invalid_request_error", "approval_request_mismatch", "Approval " + id + " was given for "
                + "another request: route, method, path, query, model and body must be exactly those of the approved "
                + "request.", id, null, expiresMillis, statusUrl);
    }

    static Stop notYours() {
        return Stop.openAiError(403, "invalid_request_error", "approval_principal_mismatch",
                "The approval named in X-PAM-Approval was not requested by you: an approval runs only for the caller "
                        + "who asked for it.", "x-should-retry", "false");
    }

    static Stop notFound() {
        return Stop.openAiError(404, "invalid_request_error", "approval_not_found",
                "The approval named in X-PAM-Approval does not exist (or is too old to be remembered).",
                "x-should-retry", "false");
    }

    static Stop badHeader() {
        return Stop.openAiError(400, "invalid_request_error", "invalid_approval_header",
                "X-PAM-Approval must be one approval id (apr_…) or the word new.");
    }

    static Stop limit(int max) {
        return Stop.openAiError(429, "invalid_request_error", "approval_limit_reached",
                "You already have " + max + " requests waiting for approval or approved and unused on this route's "
                        + "policy; use or wait for those first.", "x-should-retry", "false");
    }

    static Stop tooLarge(int max) {
        return Stop.openAiError(413, "invalid_request_error", "request_too_large_for_approval",
                "This request needs an approval, and its body is larger than the " + max + " bytes that can be kept for "
                        + "review.");
    }

    /** Policy replay (offline): the hold rules matched; no approval is opened, no store is read. */
    static Stop wouldHold(String rules) {
        return Stop.openAiError(403, "invalid_request_error", "approval_pending", "This request would be held for a "
                + "reviewer's approval (hold rule " + rules + "); replayed offline, so no approval was opened.");
    }

    static final Stop STORE_UNAVAILABLE = Stop.openAiError(503, "server_error", "approval_store_unavailable",
            "This request needs an approval, and the approval store is unavailable right now; nothing was recorded. "
                    + "Retry shortly.");

    static final Stop CONTEXT_MISSING = Stop.openAiError(503, "server_error", "approval_context_missing",
            "The gateway could not establish who is calling which model before the approval check: the route is "
                    + "misconfigured (pam-auth must run before pam-approval).");

    private static Stop stop(int status, String type, String code, String message, String id, String state,
                             long expiresMillis, String statusUrl) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", message).put("type", type).put("code", code).putNull("param");
        ObjectNode a = err.putObject("approval");
        a.put("id", id);
        if (state != null) {
            a.put("state", state);
        }
        a.put("expires_at", Instant.ofEpochMilli(expiresMillis).toString()).put("status_url", statusUrl);
        List<Header> h = new ArrayList<>();
        h.add(new Header("content-type", "application/json"));
        h.add(new Header(ID_HEADER, id));
        h.add(new Header("x-should-retry", "false"));
        return new Stop(status, Headers.of(h), Body.utf8(root.toString()));
    }
}
