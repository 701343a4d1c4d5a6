package io.inferencepam.runner.server;

import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.OpenAiError;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Stop;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The parts of a call's reply that do not depend on its plugins: the fail-closed answers of both
 * phases, and the headers APISIX needs beside a response or a rewritten body.
 */
final class ReplyFrames {
    /** Hop-by-hop headers (RFC 9110 §7.6.1) that must not be replayed to the client. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "te", "trailer", "upgrade", "content-length");

    /** The request phase's answer when the chain fails, misses its deadline or is cut short. */
    static final Stop UNAVAILABLE = Stop.openAiError(503, "service_unavailable", "gateway_policy_unavailable",
            "The gateway could not evaluate its access policy for this request. Retry later; "
                    + "if it persists, contact the gateway operators.");

    /**
     * Always a complete header set: when the runner sends no header APISIX drops Content-Type, and
     * compressed bytes lose their Content-Encoding (conformance P3, P4b, P5).
     */
    static OutboundFrame completeResponse(long id, HttpResponse r) {
        List<Header> headers = new ArrayList<>(r.headers().size() + 1);
        for (Header h : r.headers().entries()) {
            String lower = h.name().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(lower) && h.value() != null) {
                headers.add(h);
            }
        }
        if (r.body().isPresent()) {
            headers.add(new Header("Content-Length", Integer.toString(r.body().get().length())));
        } else {
            r.headers().first("content-length").ifPresent(v -> headers.add(new Header("Content-Length", v)));
        }
        return A6Encoder.response(id, r.status(), headers, r.body());
    }

    private static final Body SAFE_ERROR_BODY = Body.utf8(OpenAiError.json("service_unavailable", "gateway_response_policy_failed",
            "The gateway could not apply its response policy, so the response was withheld. Retry later."));

    /** What the client gets when the response phase fails: never the upstream body. */
    static OutboundFrame safeError(long id) {
        return A6Encoder.response(id, 503, safeErrorHeaders().entries(), Optional.of(SAFE_ERROR_BODY));
    }

    private static Headers safeErrorHeaders() {
        return Headers.of("Content-Type", "application/json", "Content-Length", Integer.toString(SAFE_ERROR_BODY.length()),
                "Cache-Control", "no-store");
    }

    /** {@link #safeError} as a value, for outcome observers. */
    static HttpResponse safeErrorResponse(HttpResponse received) {
        return new HttpResponse(received.rpcId(), 503, safeErrorHeaders(), received.vars(), Optional.of(SAFE_ERROR_BODY));
    }

    /**
     * A rewritten body needs a matching content-length: on routes with ext-plugin-post-resp,
     * APISIX forwards the client's original length with the new body (conformance C2/C2b).
     */
    static Headers contentLengthFor(RequestRewrite rw) {
        return rw.body().map(b -> Headers.of("content-length", Integer.toString(b.length()))).orElse(Headers.empty());
    }

    private ReplyFrames() {
    }
}
