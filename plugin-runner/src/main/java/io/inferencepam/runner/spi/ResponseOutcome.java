package io.inferencepam.runner.spi;

/**
 * How the response phase of one call ended: what APISIX will deliver to the client. Handed to
 * {@link Plugin#onResponseOutcome} once the reply is decided.
 *
 * @param received  the upstream response as APISIX described it
 * @param delivered the response sent back to APISIX: after every plugin's change, or the runtime's
 *                  safe 503 for {@link Kind#ERROR} and {@link Kind#DEADLINE}
 */
public record ResponseOutcome(Kind kind, HttpResponse received, HttpResponse delivered) {

    public enum Kind { PASS, CHANGED, ERROR, DEADLINE }
}
