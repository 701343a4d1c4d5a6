package io.inferencepam.runner.spi;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Questions to APISIX (RPC_EXTRA_INFO) asked while a call runs, for what a plugin needs only on
 * some calls: its {@link Plugin#requirements declared requirements} arrive before the chain, in one
 * batch; this is for what it can tell it needs only once it has looked at the call (pam-auth reads
 * the body only for a caller whose token passed). Each question is a round trip that APISIX serves
 * in Lua, so the runtime keeps every answer for the rest of the call: a var or body that any plugin
 * of the call already has (declared or fetched) is not asked again, and header vars the call frame
 * already answers are not asked at all. Plugins use it through {@link CallContext#fetch}.
 */
public interface ExtraInfo {
    /** Nothing more can be asked (unit tests, replays): a fetch answers with nothing. */
    ExtraInfo NONE = (vars, body) -> CompletableFuture.completedFuture(new Answers(Map.of(), Optional.empty()));

    /**
     * Asks for {@code vars} and, if {@code body}, the phase's body, in one pipelined batch (minus
     * what the call already knows). Completes on a plugin thread (on the event loop for a phase
     * running there, {@link Plugin#inlineSafe}), or exceptionally when the call was answered
     * meanwhile or its connection closed.
     */
    CompletionStage<Answers> fetch(Set<String> vars, boolean body);

    /**
     * What the call already knows of {@code var} without a question: its value, known missing, or
     * empty when only a question to APISIX would tell (a header the call frame may lack, a var
     * nobody asked). Never asks. For a plugin that decides on a var at once when it is known, and
     * otherwise asks it later in one batch with what it needs anyway (pam-auth's token cookie).
     */
    default Optional<Optional<String>> known(String var) {
        return Optional.empty();
    }

    /**
     * @param vars the present vars among those asked (a missing var is not a key)
     * @param body the body when asked (empty body if APISIX sent none)
     */
    record Answers(Map<String, String> vars, Optional<Body> body) {
    }
}
