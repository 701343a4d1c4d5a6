package io.inferencepam.pam.guard.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.guard.BodyCheck;
import io.inferencepam.pam.guard.BodyCheckResult;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Stop;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * pam-guard's {@code prompt_rules} section as one of its body checks. A {@code deny} match refuses
 * the call (403 {@code prompt_not_allowed}; 400 {@code prompt_unscannable} for input the rules cannot
 * read); every {@code flag} match is recorded as a {@link Decision.Outcome#FLAG} decision, which
 * pam-approval's {@code flagged} hold rule acts on. Decisions and errors name the rule and where it
 * matched, never the text.
 */
public final class PromptBodyCheck implements BodyCheck {
    static final String PLUGIN = "pam-guard";
    private final PromptRules rules;

    private PromptBodyCheck(PromptRules rules) {
        this.rules = rules;
    }

    @Override
    public BodyCheckResult check(BodyShape shape, String model, ObjectNode body, CallFacts facts) {
        List<PromptMatch> matches = rules.scan(shape, body);
        for (PromptMatch m : matches) {
            if (m.action() == PromptMatch.Action.DENY) {
                return BodyCheckResult.deny(m.ruleId(), PromptRules.UNSCANNABLE_RULE_ID.equals(m.ruleId())
                        ? Stop.openAiError(400, "invalid_request_error", "prompt_unscannable",
                                "The request carries input the gateway's prompt rules cannot read (at " + m.where() + ").")
                        : Stop.openAiError(403, "invalid_request_error", "prompt_not_allowed",
                                "The request was refused by the gateway's prompt rule `" + m.ruleId() + "` (at " + m.where() + ")."));
            }
        }
        for (PromptMatch m : matches) {
            facts.decide(new Decision(PLUGIN, m.ruleId(), Decision.Outcome.FLAG, "prompt rule matched at " + m.where()));
        }
        return BodyCheckResult.pass();
    }

    @Override
    public Optional<Set<String>> reads(BodyShape shape) {
        return Optional.of(rules.reads(shape));
    }

    @Override
    public boolean readsText() {
        return true;
    }

    /** Registers the section {@code prompt_rules}. */
    public static final class Factory implements BodyCheck.Factory {
        @Override
        public String confKey() {
            return "prompt_rules";
        }

        @Override
        public String confSchema() {
            return PromptRules.SCHEMA;
        }

        @Override
        public Optional<BodyCheck> create(JsonNode section) throws InvalidConfException {
            if (section == null || section.isMissingNode() || section.isNull()) {
                return Optional.empty();
            }
            try {
                PromptRules rules = PromptRules.fromConf(section);
                return rules.isEmpty() ? Optional.empty() : Optional.of(new PromptBodyCheck(rules));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfException("prompt_rules", e.getMessage());
            }
        }
    }
}
