package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * {@code pam-approval-review}: on the APISIX route that exposes the approvals control API to
 * people, after pam-auth, it hands the verified principal to the control API as a single-use
 * ticket ({@link ReviewerTickets}). Whatever ticket header the client sent is replaced.
 */
final class ApprovalReviewFactory implements PluginFactory {
    static final String NAME = "pam-approval-review";
    private final ReviewerTickets tickets;

    ApprovalReviewFactory(ReviewerTickets tickets) {
        this.tickets = tickets;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String confSchema() {
        return "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\",\"additionalProperties\":false}";
    }

    @Override
    public Set<Phase> phases() {
        return EnumSet.of(Phase.REQUEST);
    }

    @Override
    public Plugin create(JsonNode conf) {
        return new Plugin() {
            @Override
            public boolean correlatesPhases() {
                return true;
            }

            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext ctx) {
                CallFacts facts = CallFacts.of(ctx);
                Principal p = facts.principal().orElse(null);
                if (p == null) {
                    facts.decide(new Decision(NAME, "context", Decision.Outcome.ERROR, "no principal from pam-auth"));
                    return RequestDecision.stop(ApprovalErrors.CONTEXT_MISSING);
                }
                facts.decide(new Decision(NAME, "reviewer-ticket", Decision.Outcome.ALLOW, "identity handed to the approvals API"));
                return RequestDecision.proceed(RequestRewrite.builder().setHeader(ReviewerTickets.HEADER, tickets.mint(p)).build());
            }
        };
    }
}
