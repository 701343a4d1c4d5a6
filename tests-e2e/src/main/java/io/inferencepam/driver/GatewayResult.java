package io.inferencepam.driver;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * What the client of the simulated gateway receives, plus what happened behind it.
 *
 * <p>{@link #headers()} are the response headers as APISIX would send them, in the order the
 * driver built them (APISIX's own order is partly Lua hash order: compare as a multiset), without
 * the connection-framing headers {@code Connection} and {@code Transfer-Encoding} and without
 * {@code Date}. {@code Server} is {@code APISIX/3.18.0}, as nginx sets it. {@code Content-Length}
 * appears where nginx would send one (proxied from the upstream, or set by the runner).
 *
 * @param upstreamRequests what the real upstream received during this call, in order (two entries
 *                         for the post-resp empty-body double call, conformance P7); empty if it
 *                         was never called
 * @param transcript       every ext-plugin frame of this call, both directions, in order
 * @param errorLog         what APISIX would have written to error.log (warn and up), one line each
 * @param requestId        the nginx {@code request_id} of this call (32 hex digits)
 */
public record GatewayResult(int status, List<HttpHeader> headers, byte[] body, List<UpstreamRequest> upstreamRequests,
                            List<RpcFrame> transcript, List<String> errorLog, String requestId) {

    public GatewayResult {
        headers = List.copyOf(headers);
        upstreamRequests = List.copyOf(upstreamRequests);
        transcript = List.copyOf(transcript);
        errorLog = List.copyOf(errorLog);
        body = body == null ? new byte[0] : body;
    }

    /** First value of a header, case-insensitive; null if absent. */
    public String header(String name) {
        return headers.stream().filter(h -> h.is(name)).map(HttpHeader::value).findFirst().orElse(null);
    }

    public Optional<String> headerOpt(String name) {
        return Optional.ofNullable(header(name));
    }

    public List<String> headerValues(String name) {
        return headers.stream().filter(h -> h.is(name)).map(HttpHeader::value).toList();
    }

    /**
     * ExtraInfo questions the runner asked during this call's RPCs of {@code callType}
     * ({@link A6Client#RPC_HTTP_REQ_CALL} for pre-req and post-req, {@link A6Client#RPC_HTTP_RESP_CALL}
     * for post-resp), retries included. Each is one round trip that APISIX serves in Lua.
     */
    public int extraInfoQuestions(int callType) {
        return extraInfoAsked(callType).size();
    }

    /** What the runner asked in this call's RPCs of {@code callType}, in order: var names, {@code <body>} for a body. */
    public List<String> extraInfoAsked(int callType) {
        List<String> asked = new java.util.ArrayList<>();
        for (RpcFrame f : extraInfoFrames(callType)) {
            A6Client.Question q = A6Client.decodeQuestion(f.payload());
            asked.add(q.kind() == A6Client.Question.VAR ? q.name() : "<body>");
        }
        return asked;
    }

    /** The runner's ExtraInfo frames in this call's RPCs of {@code callType}, in order. */
    private List<RpcFrame> extraInfoFrames(int callType) {
        List<RpcFrame> frames = new java.util.ArrayList<>();
        int current = -1;
        for (RpcFrame f : transcript) {
            if (f.direction() == RpcFrame.Direction.APISIX_TO_RUNNER
                    && (f.type() == A6Client.RPC_HTTP_REQ_CALL || f.type() == A6Client.RPC_HTTP_RESP_CALL)) {
                current = f.type();
            } else if (f.direction() == RpcFrame.Direction.RUNNER_TO_APISIX && f.type() == A6Client.RPC_EXTRA_INFO
                    && current == callType) {
                frames.add(f);
            }
        }
        return frames;
    }

    /**
     * Round trips of ExtraInfo in this call's RPCs of {@code callType}: batches of questions the runner
     * sent without waiting for an answer in between (APISIX answers a pipelined batch in order, R2b).
     * A question counts as a new round trip unless it was already waiting when the driver answered the
     * one before it ({@link RpcFrame#queued}).
     */
    public int extraInfoRoundTrips(int callType) {
        return (int) extraInfoFrames(callType).stream().filter(f -> !f.queued()).count();
    }

    public String bodyUtf8() {
        return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "GatewayResult[" + status + " " + headers + " " + body.length + " bytes, upstream calls "
                + upstreamRequests.size() + ", errors " + errorLog + "]";
    }
}
