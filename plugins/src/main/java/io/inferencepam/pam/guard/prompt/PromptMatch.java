package io.inferencepam.pam.guard.prompt;

/**
 * A prompt rule that matched, and where. Never the matched text: payloads reach neither logs nor
 * decisions.
 *
 * @param where the text's place in the body, e.g. {@code messages[2].content} or
 *              {@code input[0].content[1].text} (canonical field names, never the body's own spelling)
 */
public record PromptMatch(String ruleId, Action action, String where) {

    /** What the plugin does with a match. */
    public enum Action {
        /** Refuse the call (403 {@code prompt_not_allowed}). */
        DENY,
        /** Let it through and record the rule as a risk signal (for pam-approval). */
        FLAG
    }
}
