package io.inferencepam.runner.conf;

import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.Requirements;
import java.util.List;

/**
 * A validated conf: its plugins in conf order, and what each phase must fetch from APISIX —
 * computed once, at PrepareConf.
 *
 * @param names           plugin names in conf order (for metrics and logs)
 * @param requestNeeds    merged requirements of the request phase ({@code request_id} added when correlated)
 * @param responseNeeds   merged requirements of the response phase
 * @param correlated      whether some plugin shares state between phases
 * @param observesOutcomes whether some plugin overrides {@link Plugin#onRequestOutcome} or
 *                        {@link Plugin#onResponseOutcome} (else the runtime skips that step)
 * @param checksBeforeUpstream whether some plugin overrides {@link Plugin#beforeUpstream} (else skipped)
 * @param requestCost     how long the request phase's chain has been holding a plugin thread
 * @param responseCost    the same for the response phase
 */
public record PreparedConf(ConfIdentity identity, List<String> names, List<Plugin> plugins,
                           Requirements requestNeeds, Requirements responseNeeds, boolean correlated,
                           boolean observesOutcomes, ChainCost requestCost, ChainCost responseCost,
                           boolean checksBeforeUpstream) {

    public static final String REQUEST_ID_VAR = "request_id";

    public static PreparedConf of(ConfIdentity identity, List<String> names, List<Plugin> plugins) {
        Requirements req = Requirements.NONE;
        Requirements resp = Requirements.NONE;
        boolean correlated = false;
        boolean observes = false;
        boolean beforeUpstream = false;
        for (Plugin p : plugins) {
            beforeUpstream |= overrides(p, "beforeUpstream", io.inferencepam.runner.spi.RequestOutcome.class);
            observes |= overrides(p, "onRequestOutcome", io.inferencepam.runner.spi.RequestOutcome.class)
                    || overrides(p, "onResponseOutcome", io.inferencepam.runner.spi.ResponseOutcome.class);
            req = req.plus(p.requirements(Phase.REQUEST));
            resp = resp.plus(p.requirements(Phase.RESPONSE));
            correlated |= p.correlatesPhases();
        }
        if (correlated) {
            req = Requirements.vars(REQUEST_ID_VAR).plus(req);
            resp = Requirements.vars(REQUEST_ID_VAR).plus(resp);
        }
        // A body is only readable in its own phase; asking for the other would fail the RPC.
        req = new Requirements(req.vars(), req.requestBody(), false);
        resp = new Requirements(resp.vars(), false, resp.responseBody());
        return new PreparedConf(identity, List.copyOf(names), List.copyOf(plugins), req, resp, correlated, observes,
                new ChainCost(), new ChainCost(), beforeUpstream);
    }

    private static boolean overrides(Plugin p, String method, Class<?> outcomeType) {
        try {
            return p.getClass().getMethod(method, outcomeType, io.inferencepam.runner.spi.CallContext.class)
                    .getDeclaringClass() != Plugin.class;
        } catch (NoSuchMethodException e) {
            return true; // cannot tell: call it
        }
    }

    /** The phase named by the PrepareConf key this conf was prepared for (empty if the key names none). */
    public java.util.Optional<Phase> phase() {
        return ConfCompiler.phaseOfApisixPlugin(identity.apisixPlugin());
    }

    public Requirements needs(Phase phase) {
        return phase == Phase.REQUEST ? requestNeeds : responseNeeds;
    }

    public ChainCost cost(Phase phase) {
        return phase == Phase.REQUEST ? requestCost : responseCost;
    }
}
