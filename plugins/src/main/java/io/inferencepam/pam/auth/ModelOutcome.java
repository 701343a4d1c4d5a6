package io.inferencepam.pam.auth;

import java.util.List;

/** The model a request is for, or why it cannot be determined safely. */
public sealed interface ModelOutcome {

    /**
     * @param model      the model the request is for (recorded in the call facts)
     * @param alsoNamed  further models the request uses and that must be entitled too (e.g. the
     *                   source of an Ollama copy or the base of a create)
     */
    record Resolved(String model, List<String> alsoNamed) implements ModelOutcome {
        public Resolved {
            alsoNamed = List.copyOf(alsoNamed);
        }

        public Resolved(String model) {
            this(model, List.of());
        }
    }

    /** A path the route declares model-free (e.g. {@code GET /v1/models}). */
    record ModelFree() implements ModelOutcome {
    }

    record Refused(Rejection rejection) implements ModelOutcome {
    }
}
