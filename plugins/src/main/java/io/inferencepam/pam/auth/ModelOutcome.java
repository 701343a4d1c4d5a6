package io.inferencepam.pam.auth;

/** The model a request is for, or why it cannot be determined safely. */
public sealed interface ModelOutcome {

    record Resolved(String model) implements ModelOutcome {
    }

    /** A path the route declares model-free (e.g. {@code GET /v1/models}). */
    record ModelFree() implements ModelOutcome {
    }

    record Refused(Rejection rejection) implements ModelOutcome {
    }
}
