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
 * @param requestNeeds    merged requirements of the request phase ({@code request_id} added when some
 *                        plugin correlates every call; see {@link #correlatesRequest} for the others)
 * @param responseNeeds   merged requirements of the response phase
 * @param correlated      whether some plugin shares state between phases
 * @param observesOutcomes whether some plugin overrides {@link Plugin#onRequestOutcome} or
 *                        {@link Plugin#onResponseOutcome} (else the runtime skips that step)
 * @param checksBeforeUpstream whether some plugin overrides {@link Plugin#beforeUpstream} (else skipped)
 * @param requestCost     how long the request phase's chain has been holding a plugin thread
 * @param responseCost    the same for the response phase
 * @param correlatedPerCall plugins that correlate phases only on some calls ({@link Plugin#correlatesCall}):
 *                        empty when some plugin correlates every call anyway
 * @param requestInline   whether every plugin declares its request hooks {@link Plugin#inlineSafe}
 * @param responseInline  the same for the response phase
 */
public record PreparedConf(ConfIdentity identity, List<String> names, List<Plugin> plugins,
                           Requirements requestNeeds, Requirements responseNeeds, boolean correlated,
                           boolean observesOutcomes, ChainCost requestCost, ChainCost responseCost,
                           boolean checksBeforeUpstream, List<Plugin> correlatedPerCall,
                           boolean requestInline, boolean responseInline) {

    public static final String REQUEST_ID_VAR = "request_id";

    public static PreparedConf of(ConfIdentity identity, List<String> names, List<Plugin> plugins) {
        Requirements req = Requirements.NONE;
        Requirements resp = Requirements.NONE;
        boolean correlated = false;
        boolean everyCall = false;
        List<Plugin> perCall = new java.util.ArrayList<>();
        boolean observes = false;
        boolean beforeUpstream = false;
        boolean requestInline = true;
        boolean responseInline = true;
        for (Plugin p : plugins) {
            requestInline &= p.inlineSafe(Phase.REQUEST);
            responseInline &= p.inlineSafe(Phase.RESPONSE);
            beforeUpstream |= overrides(p, "beforeUpstream", io.inferencepam.runner.spi.RequestOutcome.class);
            observes |= overrides(p, "onRequestOutcome", io.inferencepam.runner.spi.RequestOutcome.class)
                    || overrides(p, "onResponseOutcome", io.inferencepam.runner.spi.ResponseOutcome.class);
            req = req.plus(p.requirements(Phase.REQUEST));
            resp = resp.plus(p.requirements(Phase.RESPONSE));
            if (p.correlatesPhases()) {
                correlated = true;
                if (decidesPerCall(p)) {
                    perCall.add(p);
                } else {
                    everyCall = true;
                }
            }
        }
        if (everyCall) {
            req = Requirements.vars(REQUEST_ID_VAR).plus(req);
            perCall.clear();
        }
        if (correlated) {
            resp = Requirements.vars(REQUEST_ID_VAR).plus(resp);
        }
        // A body is only readable in its own phase; asking for the other would fail the RPC.
        req = new Requirements(req.vars(), req.requestBody(), false);
        resp = new Requirements(resp.vars(), false, resp.responseBody());
        return new PreparedConf(identity, List.copyOf(names), List.copyOf(plugins), req, resp, correlated, observes,
                new ChainCost(), new ChainCost(), beforeUpstream, List.copyOf(perCall), requestInline, responseInline);
    }

    private static boolean decidesPerCall(Plugin p) {
        try {
            return p.getClass().getMethod("correlatesCall", String.class, String.class).getDeclaringClass() != Plugin.class;
        } catch (NoSuchMethodException e) {
            return false; // cannot tell: correlate every call
        }
    }

    /**
     * Whether this request-phase call must ask {@code request_id} (on top of {@link #requestNeeds}) to
     * correlate its phases: some plugin that decides per call wants it for this method and path.
     */
    public boolean correlatesRequest(String method, String path) {
        for (Plugin p : correlatedPerCall) {
            if (p.correlatesCall(method, path)) {
                return true;
            }
        }
        return false;
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

    /** Whether every plugin of the conf declares its hooks of {@code phase} non-blocking and cheap. */
    public boolean inlineSafe(Phase phase) {
        return phase == Phase.REQUEST ? requestInline : responseInline;
    }

    public ChainCost cost(Phase phase) {
        return phase == Phase.REQUEST ? requestCost : responseCost;
    }
}
