package io.inferencepam.driver;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives a real ext-plugin runner over its Unix socket the way APISIX 3.18.0 does, and stands in
 * for the gateway around it: it builds the HTTP call from a {@link ClientRequest}, runs the
 * {@code ext-plugin-pre-req}, {@code ext-plugin-post-req} and {@code ext-plugin-post-resp}
 * phases, proxies to a real upstream ({@link EchoUpstream}) and returns what the client would see.
 * Thread-safe: concurrent {@link #call}s use separate connections, as nginx workers do.
 *
 * <p>What each part mirrors. APISIX sources are {@code apisix/plugins/ext-plugin/init.lua}
 * ("init.lua") and {@code apisix/plugins/ext-plugin-post-resp.lua} ("post-resp.lua"); scenario ids
 * refer to the recordings in {@code tests-e2e/src/test/resources/conformance} (findings table in
 * its README). Where a behaviour was not recorded the Javadoc of the method says "by code reading".
 * <ul>
 * <li><b>Connections</b> (init.lua {@code sock:setkeepalive(180 s, 32)}): a LIFO keepalive pool of
 *     at most 32 idle connections; a connection is returned only after a successful RPC and is
 *     closed after any failure (RPC_ERROR, wrong type, closed, timeout, oversized frame — R7, R8,
 *     R13, R14, R16). Send/read timeouts default to APISIX's fixed 60 s ({@link #withTimeouts}).</li>
 * <li><b>Conf tokens</b> (init.lua lrucache + shared dict): cached per (route id, phase plugin,
 *     route version). On a miss, PrepareConf runs on a <i>second</i> connection taken while the
 *     call's connection is already held (README "PrepareConf is nested", R1, R7). The key is
 *     {@code route#<id>#<plugin>#<version>}; one token per phase plugin (C2).</li>
 * <li><b>Path</b> (nginx {@code ngx_http_parse_complex_uri}, {@link NginxText#normalizePath}; E1):
 *     the frame's {@code path} and the var {@code uri} are nginx's normalised
 *     {@code $uri} (percent-decoded, {@code //} merged, dot segments resolved); a path nginx refuses
 *     ({@code %} without two hex digits, {@code %00}, {@code ..} above the root, control bytes) is
 *     answered 400 before any phase. As APISIX 3.18 {@code init.lua} {@code http_access_phase}
 *     does, the var {@code request_uri} is {@code uri .. is_args .. args} and
 *     {@code real_request_uri} the raw target; the upstream receives the raw target (nginx
 *     {@code proxy_pass} with an empty {@code $upstream_uri} sends {@code r->unparsed_uri}). An
 *     empty query ({@code /x?}) gives {@code is_args} "" and no {@code args} (E1).</li>
 * <li><b>Header edits before ext-plugin-pre-req</b> ({@link RouteConf#editsBeforePreReq()};
 *     H1–H4): a removed header is gone from the frame, the vars and the upstream; after a prior
 *     read the frame is APISIX's cached first-100 table minus the removed lines, so it can be
 *     short and still lack a header past line 100 (H3); a header set there (key-auth's
 *     {@code X-Consumer-Username}, H4) is in the frame, the vars and the upstream.</li>
 * <li><b>Request construction</b> ({@link CallState}): path = URI without query (R1), args
 *     percent-decoded with bare {@code flag} = no value and {@code empty=} = "" and no cap (R1, R11),
 *     header names lower-cased, repeated headers as repeated entries, only the first 100 header
 *     lines (R11), {@code x-forwarded-proto/host/port} appended before the cap (R1, R11),
 *     {@code src_ip} as raw 4/16 bytes, {@code method} as the A6 enum (R12), RPC ids from one
 *     per-driver counter shared by both call types (C4).</li>
 * <li><b>ExtraInfo loop</b> (init.lua {@code handle_extra_info}): every type-3 frame is answered
 *     in order, also when pipelined (R2b); vars as strings, a missing var → answer without the
 *     {@code result} field (R2, P1); {@code request_id} 32 hex digits shared by all phases of
 *     one call (C4); {@code http_*} joined with ", " (R2); {@code post_arg.*} from JSON bodies
 *     (R2); {@code status} "0" and {@code upstream_status} absent in post-resp (P1); ReqBody =
 *     exact body bytes (R2, R10); RespBody = upstream body bytes (P1, P9); an answer over
 *     2^24−1 bytes cannot be framed: connection closed, 503 (R16).</li>
 * <li><b>Errors</b>: CONF_TOKEN_NOT_FOUND → close, flush <i>all</i> tokens, re-prepare, retry
 *     with a new id, 3 attempts in all, then 503 (R7, R7b, R7c). Any other RPC_ERROR, a reply of
 *     the wrong type, a closed socket or a missing socket → 503 with nginx's HTML page (R8, R8b,
 *     R9, R13, R14), or the plugin is skipped with {@code allowDegradation} (R8c, R9b).</li>
 * <li><b>Stop</b> (init.lua): status 0 → 200, header names lower-cased (nginx prints its own
 *     {@code Content-Type}), repeated names all sent, empty-valued headers dropped, empty body =
 *     none, default {@code Content-Type: text/plain; charset=utf-8}; upstream not called (R3, R4,
 *     R4b, C5).</li>
 * <li><b>Rewrite</b> (init.lua): path through {@code uri_safe_encode} ({@code ?} → {@code %3F},
 *     {@code %} → {@code %25}; R5, R5b); headers set in place / deleted / appended with the
 *     runner's case, {@code host} also sets the upstream host (R5, R6); args: a value-less entry
 *     deletes, the first entry of a name replaces its values, further entries of that name add
 *     (R5, R5c); body replaced (R5); {@code resp_headers} minus the exclude list reach the client
 *     lower-cased (R5, C7).</li>
 * <li><b>Proxy</b> (nginx {@code proxy_pass}): {@code Host} = upstream host, {@code X-Real-IP},
 *     {@code X-Forwarded-For}, a recomputed {@code Content-Length}, then the header list without
 *     hop-by-hop headers (R1, R5, R6). The client gets the upstream's status, headers (Server
 *     replaced) and body.</li>
 * <li><b>post-resp</b> (post-resp.lua, lua-resty-http): the upstream call carries the header
 *     list lower-cased, with the client's {@code Connection} and <i>stale</i> {@code Content-Length}
 *     after a Rewrite.body (C1, C2; C2b hangs until the upstream timeout → 502), no
 *     {@code X-Real-IP}/{@code X-Forwarded-For}. Then HTTPRespCall with the upstream status and
 *     headers (original case). Runner body → runner status (0 = upstream's) + body; runner headers
 *     replace the upstream's, else the upstream headers minus the exclude list are copied (P1–P3b,
 *     P5); RPC failure → 503 with the ORIGINAL upstream body (P6, P6b, P10), also when it is the
 *     post-resp PrepareConf that fails, which runs only after the upstream call (P11); an empty upstream body
 *     → the runner's status is ignored and nginx proxies the request a second time, adding the
 *     second response's headers (P7, P7b, P7c).</li>
 * </ul>
 *
 * <p>Not mirrored: Lua hash order (the driver keeps insertion order; compare as multisets),
 * streaming to the client (bodies are returned whole), the {@code resty.lock} around PrepareConf,
 * and nginx's handling of other odd client input (invalid header names, absolute-form targets).
 */
public final class ApisixDriver implements AutoCloseable {
    /** APISIX's {@code exclude_resp_header} list (init.lua), lower-case (P2, P5, R5). */
    static final Set<String> EXCLUDED_RESPONSE_HEADERS = Set.of("connection", "content-length", "transfer-encoding",
            "location", "server", "www-authenticate", "content-encoding", "content-type", "content-location",
            "content-language");
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "te", "trailer", "upgrade");
    static final String SERVER = "APISIX/3.18.0";
    static final String DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8";
    private static final int MAX_IDLE = 32;

    private final Path socket;
    private final Duration rpcTimeout;
    private final Duration upstreamTimeout;
    private final int gatewayPort;
    private final ConcurrentLinkedDeque<RunnerConnection> idle = new ConcurrentLinkedDeque<>();
    private final Map<String, Long> tokens = new ConcurrentHashMap<>();
    private final AtomicLong rpcIds = new AtomicLong();
    private final AtomicInteger connectionNumbers = new AtomicInteger();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean closed;

    /** A driver with APISIX's timeouts (60 s RPC send/read, 60 s upstream) and gateway port 9080. */
    public ApisixDriver(Path socket) {
        this(socket, Duration.ofSeconds(60), Duration.ofSeconds(60), 9080);
    }

    private ApisixDriver(Path socket, Duration rpcTimeout, Duration upstreamTimeout, int gatewayPort) {
        this.socket = socket;
        this.rpcTimeout = rpcTimeout;
        this.upstreamTimeout = upstreamTimeout;
        this.gatewayPort = gatewayPort;
    }

    /** Same socket, other timeouts (APISIX's are fixed at 60 s; tests of hangs want less). */
    public ApisixDriver withTimeouts(Duration rpc, Duration upstream) {
        return new ApisixDriver(socket, rpc, upstream, gatewayPort);
    }

    public Path socket() {
        return socket;
    }

    /** How many runner connections this driver has opened so far. */
    public int connectionsOpened() {
        return connectionNumbers.get();
    }

    /** Conf tokens currently cached. */
    public int cachedTokens() {
        return tokens.size();
    }

    /** Drops every cached conf token, as APISIX does on CONF_TOKEN_NOT_FOUND or a reload. */
    public void flushTokens() {
        tokens.clear();
    }

    /** Runs one HTTP call through the gateway. {@code upstream} null: see {@link #proxy}. */
    public GatewayResult call(RouteConf route, ClientRequest request, EchoUpstream upstream) {
        if (closed) {
            throw new IllegalStateException("driver closed");
        }
        Call call = new Call(new CallState(route, request, HexFormat.of().formatHex(randomBytes()), gatewayPort), upstream);
        if (call.st.badRequest()) {
            // ngx_http_parse_complex_uri refused the path: nginx answers before any phase runs
            return call.nginxError(400);
        }
        return call.run();
    }

    private byte[] randomBytes() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return b;
    }

    @Override
    public void close() {
        closed = true;
        RunnerConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.close();
        }
    }

    // ---- connections --------------------------------------------------------------------------

    private RunnerConnection acquire() throws IOException {
        RunnerConnection c;
        while ((c = idle.pollFirst()) != null) {
            if (c.idleCheck()) {
                return c;
            }
            c.close();
        }
        return RunnerConnection.open(socket, connectionNumbers.incrementAndGet());
    }

    private void release(RunnerConnection c) {
        if (!closed && c.usable() && idle.size() < MAX_IDLE) {
            idle.offerFirst(c);
        } else {
            c.close();
        }
    }

    // ---- one HTTP call ------------------------------------------------------------------------

    /** Why an RPC failed; {@code message} is what APISIX logs. */
    private static final class RpcFailure extends Exception {
        RpcFailure(String message) {
            super(message, null, false, false);
        }
    }

    private final class Call {
        final CallState st;
        final EchoUpstream upstream;
        final List<RpcFrame> transcript = new ArrayList<>();
        final List<String> errorLog = new ArrayList<>();
        final List<EchoUpstream.ClientConnection> upstreamConnections = new ArrayList<>();
        final List<UpstreamRequest> simulatedUpstream = new ArrayList<>();
        byte[] upstreamBody = new byte[0];

        Call(CallState st, EchoUpstream upstream) {
            this.st = st;
            this.upstream = upstream;
        }

        GatewayResult run() {
            for (ExtPhase phase : List.of(ExtPhase.PRE_REQ, ExtPhase.POST_REQ)) {
                if (st.route.conf(phase).isEmpty()) {
                    continue;
                }
                A6Client.RequestReply reply;
                try {
                    reply = A6Client.decodeRequestReply(rpc(phase, A6Client.RPC_HTTP_REQ_CALL));
                } catch (RpcFailure f) {
                    if (st.route.allowDegradation()) {
                        errorLog.add("[warn] " + phase.pluginName() + " skipped (allow_degradation): " + f.getMessage());
                        continue;
                    }
                    errorLog.add("[warn] " + phase.pluginName() + " exits with http status code 503");
                    return nginxError(503);
                } catch (RuntimeException malformed) {
                    errorLog.add("[error] malformed RPC_HTTP_REQ_CALL reply: " + malformed.getClass().getSimpleName());
                    return nginxError(503);
                }
                if (reply.actionType() == io.github.api7.A6.HTTPReqCall.Action.Stop) {
                    return stop(reply.stop());
                }
                if (reply.actionType() == io.github.api7.A6.HTTPReqCall.Action.Rewrite) {
                    applyRewrite(reply.rewrite());
                }
            }
            if (!st.route.postResp().isEmpty()) {
                return postResp();
            }
            return proxy();
        }

        // ---- RPC ----

        /** One RPC of {@code callType} for {@code phase}, with the ExtraInfo loop and token retries; returns the reply payload. */
        byte[] rpc(ExtPhase phase, int callType) throws RpcFailure {
            String key = "route#" + st.route.id() + "#" + phase.pluginName() + "#" + st.route.version();
            for (int attempt = 1; attempt <= 3; attempt++) {
                RunnerConnection conn;
                try {
                    conn = acquire();
                } catch (IOException e) {
                    // R9: no frames, 503 at once
                    throw fail("failed to connect to the unix socket " + socket + ": " + e.getMessage());
                }
                try {
                    Long token = tokens.get(key);
                    if (token == null) {
                        try {
                            token = prepare(phase, key); // nested: conn stays held (README, R1, R7)
                        } catch (RpcFailure f) {
                            release(conn); // nothing was sent on it
                            throw f;
                        }
                    }
                    long id = rpcIds.getAndIncrement();
                    byte[] payload = callType == A6Client.RPC_HTTP_REQ_CALL
                            ? A6Client.requestCall(id, token, st.srcIp(), st.methodCode(), st.uri, st.args, st.callHeaders())
                            : A6Client.responseCall(id, token, lastUpstream.status(), entries(lastUpstream.headers()));
                    send(conn, callType, payload);
                    boolean queued = false;
                    while (true) {
                        RunnerConnection.Frame f = read(conn, queued);
                        if (f.type() == A6Client.RPC_EXTRA_INFO) {
                            // already there before this answer: sent in the same batch (round trips, R2b)
                            queued = conn.unreadNow();
                            answer(conn, phase, A6Client.decodeQuestion(f.payload()));
                        } else if (f.type() == callType) {
                            release(conn);
                            return f.payload();
                        } else if (f.type() == A6Client.RPC_ERROR) {
                            conn.close();
                            int code = A6Client.decodeError(f.payload());
                            if (code == io.github.api7.A6.Err.Code.CONF_TOKEN_NOT_FOUND) {
                                errorLog.add("[warn] refresh cache and try again");
                                tokens.clear(); // shared dict + lrucache: every route (R7, R7c)
                                break;
                            }
                            // APISIX names RPC_HTTP_REQ_CALL even for a resp call (P6)
                            throw fail("failed to receive RPC_HTTP_REQ_CALL: "
                                    + (code == io.github.api7.A6.Err.Code.BAD_REQUEST ? "bad request" : "service unavailable"));
                        } else {
                            conn.close();
                            throw fail("failed to receive RPC_HTTP_REQ_CALL: unexpected type " + f.type()); // R13
                        }
                    }
                } catch (IOException e) {
                    conn.close();
                    throw fail("failed to receive RPC_HTTP_REQ_CALL: " + (e instanceof EOFException ? "closed" : e.getMessage()));
                } catch (RuntimeException malformed) {
                    conn.close();
                    throw fail("malformed frame from the runner: " + malformed.getClass().getSimpleName());
                }
            }
            throw fail("failed to receive RPC_HTTP_REQ_CALL: conf token not found after 3 attempts"); // R7b
        }

        private long prepare(ExtPhase phase, String key) throws IOException, RpcFailure {
            RunnerConnection conn;
            try {
                conn = acquire();
            } catch (IOException e) {
                throw fail("failed to connect to the unix socket " + socket + ": " + e.getMessage());
            }
            try {
                send(conn, A6Client.RPC_PREPARE_CONF, A6Client.prepareConf(st.route.conf(phase), key));
                RunnerConnection.Frame f = read(conn);
                if (f.type() == A6Client.RPC_PREPARE_CONF) {
                    long token = A6Client.decodePrepareReply(f.payload());
                    release(conn);
                    tokens.put(key, token);
                    return token;
                }
                conn.close();
                if (f.type() == A6Client.RPC_ERROR) {
                    int code = A6Client.decodeError(f.payload());
                    throw fail("failed to receive RPC_PREPARE_CONF: "
                            + (code == io.github.api7.A6.Err.Code.BAD_REQUEST ? "bad request" : "error code " + code));
                }
                throw fail("failed to receive RPC_PREPARE_CONF: unexpected type " + f.type());
            } catch (IOException e) {
                conn.close();
                throw fail("failed to receive RPC_PREPARE_CONF: " + (e instanceof EOFException ? "closed" : e.getMessage()));
            }
        }

        private void answer(RunnerConnection conn, ExtPhase phase, A6Client.Question q) throws IOException {
            byte[] result = switch (q.kind()) {
                case A6Client.Question.VAR -> q.name() == null ? null
                        : st.var(q.name(), phase).map(v -> v.getBytes(StandardCharsets.UTF_8)).orElse(null);
                // by code reading: get_body() returns nil for an empty body, answered like a missing var
                case A6Client.Question.REQ_BODY -> st.body == null || st.body.length == 0 ? null : st.body;
                case A6Client.Question.RESP_BODY -> upstreamBody.length == 0 ? null : upstreamBody;
                default -> null;
            };
            send(conn, A6Client.RPC_EXTRA_INFO, A6Client.extraInfoAnswer(result));
        }

        private void send(RunnerConnection conn, int type, byte[] payload) throws IOException {
            conn.send(type, payload, rpcTimeout);
            transcript.add(new RpcFrame(RpcFrame.Direction.APISIX_TO_RUNNER, type, payload, conn.number));
        }

        private RunnerConnection.Frame read(RunnerConnection conn) throws IOException {
            return read(conn, false);
        }

        /** @param queued the frame was already waiting when the driver answered the question before it */
        private RunnerConnection.Frame read(RunnerConnection conn, boolean queued) throws IOException {
            RunnerConnection.Frame f = conn.read(rpcTimeout);
            transcript.add(new RpcFrame(RpcFrame.Direction.RUNNER_TO_APISIX, f.type(), f.payload(), conn.number, queued));
            return f;
        }

        private RpcFailure fail(String message) {
            errorLog.add("[error] " + message);
            return new RpcFailure(message);
        }

        // ---- applying replies ----

        private GatewayResult stop(A6Client.Stop s) {
            List<HttpHeader> headers = new ArrayList<>();
            for (A6Client.Entry e : s.headers()) {
                if (e.value() != null && !e.value().isEmpty()) { // R3: an empty value clears the header
                    headers.add(clientHeader(e.name(), e.value()));
                }
            }
            headers.addAll(st.respHeaders);
            finishHeaders(headers, s.status() == 0 ? 200 : s.status());
            return result(s.status() == 0 ? 200 : s.status(), headers, s.body().orElse(new byte[0]));
        }

        private void applyRewrite(A6Client.Rewrite rw) {
            rw.path().ifPresent(p -> st.rewrittenPath = NginxText.uriSafeEncode(p));
            for (A6Client.Entry e : rw.headers()) {
                if (e.value() == null) {
                    st.removeHeader(e.name());
                } else {
                    st.setHeader(e.name(), e.value());
                    if (e.name().equalsIgnoreCase("host")) {
                        st.upstreamHost = e.value(); // R6
                    }
                }
            }
            if (!rw.args().isEmpty()) {
                applyArgs(rw.args());
            }
            rw.body().ifPresent(b -> st.body = b);
            for (A6Client.Entry e : rw.respHeaders()) {
                String lower = e.name().toLowerCase(Locale.ROOT);
                if (e.value() != null && !EXCLUDED_RESPONSE_HEADERS.contains(lower)) {
                    st.respHeaders.add(new HttpHeader(lower, e.value()));
                }
            }
        }

        /** R5/R5c: delete on no value; the first entry of a name replaces its values, later ones add. */
        private void applyArgs(List<A6Client.Entry> changes) {
            List<A6Client.Entry> args = new ArrayList<>(st.args);
            Set<String> changed = new java.util.HashSet<>();
            for (A6Client.Entry e : changes) {
                if (e.value() == null) {
                    args.removeIf(a -> a.name().equals(e.name()));
                    changed.remove(e.name());
                } else if (changed.add(e.name())) {
                    int at = indexOf(args, e.name());
                    args.removeIf(a -> a.name().equals(e.name()));
                    args.add(at < 0 ? args.size() : Math.min(at, args.size()), e);
                } else {
                    int last = lastIndexOf(args, e.name());
                    args.add(last + 1, e);
                }
            }
            st.args = args;
            st.argsRewritten = true;
        }

        // ---- upstream ----

        private UpstreamClient.Response lastUpstream;

        /**
         * nginx's proxy_pass (R1, R5, R6). With {@code upstream == null} nothing is sent: the
         * request that would have been proxied is reported in {@link GatewayResult#upstreamRequests()}
         * and the response is 200 with no body and no headers.
         */
        private GatewayResult proxy() {
            UpstreamClient.Response r;
            try {
                r = sendProxied();
            } catch (IOException e) {
                errorLog.add("[error] upstream: " + e.getMessage());
                return nginxError(502);
            }
            List<HttpHeader> headers = new ArrayList<>(st.respHeaders);
            for (HttpHeader h : r.headers()) {
                String lower = h.name().toLowerCase(Locale.ROOT);
                if (!HOP_BY_HOP.contains(lower) && !lower.equals("server")) {
                    headers.add(h);
                }
            }
            headers.add(new HttpHeader("Server", SERVER));
            return result(r.status(), headers, r.body());
        }

        private UpstreamClient.Response sendProxied() throws IOException {
            List<HttpHeader> h = new ArrayList<>();
            h.add(new HttpHeader("Host", st.upstreamHost));
            h.add(new HttpHeader("X-Real-IP", st.remoteAddr));
            String xff = st.first("x-forwarded-for");
            h.add(new HttpHeader("X-Forwarded-For", xff == null ? st.remoteAddr : xff + ", " + st.remoteAddr));
            if (st.body != null || st.first("content-length") != null || st.first("transfer-encoding") != null) {
                h.add(new HttpHeader("Content-Length", Integer.toString(st.body == null ? 0 : st.body.length)));
            }
            for (HttpHeader x : st.headers) {
                String lower = x.name().toLowerCase(Locale.ROOT);
                if (!HOP_BY_HOP.contains(lower) && !Set.of("host", "content-length", "x-real-ip", "x-forwarded-for").contains(lower)) {
                    h.add(x);
                }
            }
            return sendUpstream(st.upstreamTarget(), h, st.body);
        }

        private UpstreamClient.Response sendUpstream(String target, List<HttpHeader> headers, byte[] body) throws IOException {
            if (upstream == null) {
                simulatedUpstream.add(new UpstreamRequest(st.method, target, headers, body));
                return new UpstreamClient.Response(200, List.of(), new byte[0], -1);
            }
            long beforeConnect = System.nanoTime();
            int[] port = {-1};
            try {
                return UpstreamClient.send(upstream.host(), upstream.port(), st.method, target, headers, body, upstreamTimeout,
                        p -> port[0] = p);
            } finally { // send has closed the socket: no later connection from this port is ours
                if (port[0] >= 0) {
                    upstreamConnections.add(new EchoUpstream.ClientConnection(port[0], beforeConnect, System.nanoTime()));
                }
            }
        }

        /** post-resp.lua: APISIX's own HTTP call, then HTTPRespCall, then its rules for the reply. */
        private GatewayResult postResp() {
            String target = st.upstreamTarget();
            st.upstreamUriVar = target;
            List<HttpHeader> h = new ArrayList<>();
            for (A6Client.Entry e : st.callHeaders()) { // core.request.headers(): get_headers(), 100 cap, lower-case (C1)
                h.add(new HttpHeader(e.name(), e.value()));
            }
            if (st.body != null && HttpWire.first(h, "content-length") == null) {
                h.add(new HttpHeader("Content-Length", Integer.toString(st.body.length))); // lua-resty-http
            }
            try {
                lastUpstream = sendUpstream(target, h, st.body);
            } catch (IOException e) {
                errorLog.add("[error] failed to request: " + e.getMessage()); // C2b
                return nginxError(502);
            }
            upstreamBody = lastUpstream.body();
            A6Client.ResponseReply reply;
            try {
                reply = A6Client.decodeResponseReply(rpc(ExtPhase.POST_RESP, A6Client.RPC_HTTP_RESP_CALL));
            } catch (RpcFailure | RuntimeException f) {
                if (st.route.allowDegradation() && f instanceof RpcFailure) {
                    reply = new A6Client.ResponseReply(0, 0, List.of(), Optional.empty());
                } else {
                    // P6, P6b, P10: 503 with the ORIGINAL upstream body and no upstream header
                    List<HttpHeader> headers = new ArrayList<>(st.respHeaders);
                    finishHeaders(headers, 503);
                    return result(503, headers, upstreamBody);
                }
            }
            List<HttpHeader> headers = new ArrayList<>();
            if (!reply.headers().isEmpty()) {
                for (A6Client.Entry e : reply.headers()) {
                    String lower = e.name().toLowerCase(Locale.ROOT);
                    if (e.value() != null && !lower.equals("server") && !HOP_BY_HOP.contains(lower)) {
                        headers.add(clientHeader(e.name(), e.value())); // P1: lower-cased, nginx's own names canonical
                    }
                }
            } else {
                for (HttpHeader x : lastUpstream.headers()) {
                    if (!EXCLUDED_RESPONSE_HEADERS.contains(x.name().toLowerCase(Locale.ROOT))) {
                        headers.add(x); // P2, P3, P5: original case, exclude list applied
                    }
                }
            }
            headers.addAll(st.respHeaders); // C7
            if (reply.body().isPresent()) {
                int status = reply.status() == 0 ? lastUpstream.status() : reply.status();
                finishHeaders(headers, status);
                return result(status, headers, reply.body().get());
            }
            if (upstreamBody.length > 0) {
                finishHeaders(headers, lastUpstream.status());
                return result(lastUpstream.status(), headers, upstreamBody);
            }
            // P7/P7b/P7c: empty upstream body → nothing printed, nginx proxies a second time
            // (the runner's status is ignored), and the second response's headers are added.
            if (upstream == null) {
                finishHeaders(headers, lastUpstream.status());
                return result(lastUpstream.status(), headers, new byte[0]);
            }
            UpstreamClient.Response second;
            try {
                second = sendProxied();
            } catch (IOException e) {
                errorLog.add("[error] upstream: " + e.getMessage());
                return nginxError(502);
            }
            for (HttpHeader x : second.headers()) {
                String lower = x.name().toLowerCase(Locale.ROOT);
                if (!HOP_BY_HOP.contains(lower) && !lower.equals("server")) {
                    headers.add(x);
                }
            }
            headers.add(new HttpHeader("Server", SERVER));
            return result(second.status(), headers, second.body());
        }

        // ---- results ----

        private void finishHeaders(List<HttpHeader> headers, int status) {
            boolean hasType = headers.stream().anyMatch(x -> x.is("content-type"));
            if (!hasType && status != 204 && status != 304) {
                headers.add(0, new HttpHeader("Content-Type", DEFAULT_CONTENT_TYPE));
            }
            headers.add(new HttpHeader("Server", SERVER));
        }

        private GatewayResult nginxError(int status) {
            byte[] body = NginxPages.page(status);
            List<HttpHeader> headers = List.of(new HttpHeader("Content-Type", "text/html; charset=utf-8"),
                    new HttpHeader("Content-Length", Integer.toString(body.length)), new HttpHeader("Server", SERVER));
            return result(status, headers, body);
        }

        private GatewayResult result(int status, List<HttpHeader> headers, byte[] body) {
            List<UpstreamRequest> received = upstream == null ? simulatedUpstream : upstream.requestsFrom(upstreamConnections);
            return new GatewayResult(status, headers, body, received, transcript, errorLog, st.requestId);
        }
    }

    /** Stop / post-resp header as the client sees it: lower-cased, except the headers nginx itself prints. */
    static HttpHeader clientHeader(String name, String value) {
        String lower = name.toLowerCase(Locale.ROOT);
        return switch (lower) {
            case "content-type" -> new HttpHeader("Content-Type", value);
            case "content-length" -> new HttpHeader("Content-Length", value);
            default -> new HttpHeader(lower, value);
        };
    }

    private static List<A6Client.Entry> entries(List<HttpHeader> headers) {
        List<A6Client.Entry> out = new ArrayList<>(headers.size());
        for (HttpHeader h : headers) {
            out.add(new A6Client.Entry(h.name(), h.value()));
        }
        return out;
    }

    private static int indexOf(List<A6Client.Entry> args, String name) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private static int lastIndexOf(List<A6Client.Entry> args, String name) {
        for (int i = args.size() - 1; i >= 0; i--) {
            if (args.get(i).name().equals(name)) {
                return i;
            }
        }
        return args.size() - 1;
    }
}
