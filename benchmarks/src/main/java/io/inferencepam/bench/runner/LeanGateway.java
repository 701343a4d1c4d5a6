package io.inferencepam.bench.runner;

import io.inferencepam.driver.A6Client;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.RunnerConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The APISIX side of one route, at the protocol only: the frames {@link io.inferencepam.driver.ApisixDriver}
 * sends for a call (lower-cased header list with the {@code x-forwarded-*} headers, path, args,
 * source address; then, after a pass or rewrite, the response call with the upstream's status and
 * headers), every ExtraInfo question answered in order as APISIX does, but without the HTTP client,
 * the upstream and the connection pool around them: on a 2-core machine those cost the driver so
 * much CPU that the runner is never loaded. Vars are answered as the driver answers those our
 * plugins ask ({@code http_*} joined with ", ", {@code request_id} 32 hex digits shared by both
 * phases of a call, {@code request_uri} and {@code real_request_uri}, {@code request_method}, {@code remote_addr},
 * {@code content_type}, {@code status} "0" in post-resp); any other var is absent.
 */
final class LeanGateway {
    private static final Duration T = Duration.ofSeconds(60);
    private static final byte[] IP = {10, 0, 0, 7};
    private static final int POST = Arrays.asList(io.github.api7.A6.Method.names).indexOf("POST");

    private final Path socket;
    private final ClientRequest request;
    private final List<A6Client.Entry> headers = new ArrayList<>();
    private final byte[] upstreamBody;
    private final List<A6Client.Entry> upstreamHeaders;
    private final long preToken;
    private final long postToken;
    private final String mustNotLeak;
    private final AtomicLong ids = new AtomicLong();

    /** @param mustNotLeak text the client must never get back (masked by the route), or null */
    LeanGateway(Path socket, RouteConf route, ClientRequest request, byte[] upstreamBody, List<HttpHeader> upstreamHeaders,
                String mustNotLeak) throws IOException {
        this.socket = socket;
        this.request = request;
        for (HttpHeader h : request.headers()) {
            headers.add(new A6Client.Entry(h.name().toLowerCase(Locale.ROOT), h.value()));
        }
        headers.add(new A6Client.Entry("x-forwarded-proto", "http"));
        headers.add(new A6Client.Entry("x-forwarded-host", "ai-gw.example.com"));
        headers.add(new A6Client.Entry("x-forwarded-port", "9080"));
        this.upstreamBody = upstreamBody;
        this.upstreamHeaders = upstreamHeaders.stream().map(h -> new A6Client.Entry(h.name(), h.value())).toList();
        this.preToken = route.preReq().isEmpty() ? -1 : prepare(route.preReq(), "route#" + route.id() + "#ext-plugin-pre-req#1");
        this.postToken = route.postResp().isEmpty() ? -1 : prepare(route.postResp(), "route#" + route.id() + "#ext-plugin-post-resp#1");
        this.mustNotLeak = mustNotLeak;
    }

    private long prepare(List<ConfEntry> conf, String key) throws IOException {
        try (RunnerConnection c = RunnerConnection.open(socket)) {
            c.send(A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(conf, key), T);
            RunnerConnection.Frame f = c.read(T);
            if (f.type() != A6Client.RPC_PREPARE_CONF) {
                throw new IOException("PrepareConf " + key + " refused: type " + f.type());
            }
            return A6Client.decodePrepareReply(f.payload());
        }
    }

    RunnerConnection connect() throws IOException {
        return RunnerConnection.open(socket);
    }

    /** One call on {@code c}; returns the ExtraInfo it took. Throws unless the call passed and nothing leaked. */
    Asked call(RunnerConnection c) throws IOException {
        long id = ids.incrementAndGet();
        String requestId = String.format(Locale.ROOT, "%032x", id);
        ExtraInfoCount count = new ExtraInfoCount();
        c.send(A6Client.RPC_HTTP_REQ_CALL, A6Client.requestCall(id, preToken, IP, POST, path(), List.of(), headers), T);
        RunnerConnection.Frame f;
        while ((f = c.read(T)).type() == A6Client.RPC_EXTRA_INFO) {
            count.question(c);
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(answer(A6Client.decodeQuestion(f.payload()), requestId, false)), T);
        }
        if (f.type() != A6Client.RPC_HTTP_REQ_CALL) {
            throw new IOException("request phase: reply of type " + f.type());
        }
        A6Client.RequestReply reply = A6Client.decodeRequestReply(f.payload());
        if (reply.actionType() == io.github.api7.A6.HTTPReqCall.Action.Stop) {
            throw new IOException("request phase stopped with " + reply.stop().status() + ": "
                    + reply.stop().body().map(b -> new String(b, StandardCharsets.UTF_8)).orElse(""));
        }
        if (postToken < 0) {
            return count.result();
        }
        c.send(A6Client.RPC_HTTP_RESP_CALL, A6Client.responseCall(id + (1L << 40), postToken, 200, upstreamHeaders), T);
        count.reply();
        while ((f = c.read(T)).type() == A6Client.RPC_EXTRA_INFO) {
            count.question(c);
            c.send(A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(answer(A6Client.decodeQuestion(f.payload()), requestId, true)), T);
        }
        if (f.type() != A6Client.RPC_HTTP_RESP_CALL) {
            throw new IOException("response phase: reply of type " + f.type());
        }
        A6Client.ResponseReply r = A6Client.decodeResponseReply(f.payload());
        if ((r.status() != 0 && r.status() != 200)
                || (mustNotLeak != null && r.body().map(b -> new String(b, StandardCharsets.UTF_8).contains(mustNotLeak)).orElse(true))) {
            throw new IOException("response phase: status " + r.status() + ", body masked: " + r.body().isPresent());
        }
        return count.result();
    }

    /** ExtraInfo of one call: questions (frames) and round trips (batches APISIX answers in one go). */
    record Asked(int questions, int roundTrips) {
    }

    /**
     * Counts as {@link io.inferencepam.driver.ApisixDriver} does (GatewayResult.extraInfoRoundTrips):
     * a question is a new round trip unless it was already waiting when the one before it was answered.
     */
    private static final class ExtraInfoCount {
        private int questions;
        private int roundTrips;
        private boolean queued;

        /** A question was read; call before answering it. */
        void question(RunnerConnection c) throws IOException {
            questions++;
            if (!queued) {
                roundTrips++;
            }
            queued = c.unreadNow();
        }

        /** A call frame was sent: the next question starts a new round trip. */
        void reply() {
            queued = false;
        }

        Asked result() {
            return new Asked(questions, roundTrips);
        }
    }

    private String path() {
        String t = request.target();
        int q = t.indexOf('?');
        return q < 0 ? t : t.substring(0, q);
    }

    private byte[] answer(A6Client.Question q, String requestId, boolean response) {
        if (q.kind() == A6Client.Question.REQ_BODY) {
            return request.body();
        }
        if (q.kind() == A6Client.Question.RESP_BODY) {
            return upstreamBody;
        }
        String v = switch (q.name()) {
            case "request_id" -> requestId;
            // the benchmark's targets are canonical: APISIX's normalised request_uri equals the raw one
            case "request_uri", "real_request_uri" -> request.target();
            case "request_method" -> request.method();
            case "remote_addr" -> "10.0.0.7";
            case "content_type" -> header("content-type");
            case "status" -> response ? "0" : null;
            default -> q.name().startsWith("http_") ? header(q.name().substring(5).replace('_', '-')) : null;
        };
        return v == null ? null : v.getBytes(StandardCharsets.UTF_8);
    }

    private String header(String lowerName) {
        List<String> values = new ArrayList<>();
        for (A6Client.Entry e : headers) {
            if (e.name().equals(lowerName)) {
                values.add(e.value());
            }
        }
        return values.isEmpty() ? null : String.join(", ", values);
    }
}
