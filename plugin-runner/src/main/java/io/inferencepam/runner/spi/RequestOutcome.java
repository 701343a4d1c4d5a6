package io.inferencepam.runner.spi;

import java.util.Optional;

/**
 * How the request phase of one call ended, as APISIX is told. Handed to
 * {@link Plugin#onRequestOutcome} once the reply is decided, so that a plugin can observe a Stop
 * issued by a later plugin of the same conf (which it otherwise never sees), a failure or a missed
 * deadline.
 *
 * @param received  the request as APISIX described it, before any plugin's rewrite
 * @param forwarded the request as the upstream will see it (all rewrites applied); equal to
 *                  {@code received} when stopped before any rewrite
 * @param rewrite   the merged rewrite sent to APISIX ({@link RequestRewrite#NONE} when stopped)
 * @param stop      the final Stop sent to APISIX, if any (for {@link Kind#ERROR} and
 *                  {@link Kind#DEADLINE}: the runtime's generic 503)
 * @param haltedBy  the name of the plugin that returned the Stop (empty for pass, error, deadline)
 */
public record RequestOutcome(Kind kind, HttpRequest received, HttpRequest forwarded, RequestRewrite rewrite,
                             Optional<Stop> stop, Optional<String> haltedBy) {

    public enum Kind { PASS, REWRITE, STOP, ERROR, DEADLINE }

    public boolean stopped() {
        return stop.isPresent();
    }
}
