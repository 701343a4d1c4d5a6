package io.inferencepam.pam.guard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.runner.spi.InvalidConfException;
import java.util.Optional;
import java.util.Set;

/**
 * A policy over the body of an inference request (the parameter policy, prompt rules…). pam-guard
 * parses the body once, strictly ({@link StrictJsonBody}), and hands it to its checks in order; each
 * sees what the previous one left (a rewrite replaces the body for the checks after it, and in the end
 * for the model server).
 *
 * <p>Called on the plugin executor, never on an event loop, concurrently for different calls: an
 * implementation is immutable (built once per conf) and must not block. It must not modify
 * {@code body}: to change it, return {@link BodyCheckResult#rewrite} with a modified
 * {@link ObjectNode#deepCopy() deep copy}. A thrown exception fails the call closed (503).
 */
public interface BodyCheck {

    /**
     * @param shape the endpoint's body shape from the catalogue (never {@link BodyShape#NONE}:
     *              such bodies are not handed to checks)
     * @param model the model the call is for: pam-auth's resolution when it ran first (Ollama names
     *              canonical), else where the catalogue says the endpoint names it; empty if unknown
     * @param body  the parsed body (read-only)
     * @param facts the call's facts (principal, model, decisions so far)
     */
    BodyCheckResult check(BodyShape shape, String model, ObjectNode body, CallFacts facts);

    /**
     * The top-level members this check reads in a body of {@code shape}, when it reads only some: the
     * check may then be handed a body that holds just the members whose key is one of these names or
     * folds ({@link io.inferencepam.pam.core.KeyFold}) to one of them (each complete), which pam-guard
     * reads in one streaming pass instead of building the whole tree; its decision must not depend on
     * any other member. When it returns a rewrite from such a body it is called again with the whole
     * body, so it must decide the same there and record nothing before it rewrites. Empty (the
     * default): it reads the whole body.
     */
    default Optional<Set<String>> reads(BodyShape shape) {
        return Optional.empty();
    }

    /**
     * Whether the members this check {@link #reads} carry the request's text, i.e. most of a body
     * (prompt rules): pam-guard then reads the body by its Jackson pass, which builds those members
     * anyway, instead of scanning the whole body first ({@link StrictJsonScan}) and building them after.
     */
    default boolean readsText() {
        return false;
    }

    /**
     * Builds a check from its section of the pam-guard conf. Registered with
     * {@link GuardPluginFactory}; its section is added to pam-guard's conf schema under {@link #confKey()}.
     */
    interface Factory {
        /** The conf member that configures this check ({@code "params"}). */
        String confKey();

        /** JSON Schema (draft 2020-12) of that member's value. */
        String confSchema();

        /**
         * The check for one route, or empty when the section is absent (the check then costs nothing).
         *
         * @param section the member's value, or a missing node
         */
        Optional<BodyCheck> create(JsonNode section) throws InvalidConfException;
    }
}
