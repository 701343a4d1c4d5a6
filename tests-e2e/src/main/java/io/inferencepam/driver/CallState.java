package io.inferencepam.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The request as nginx/APISIX hold it while the ext-plugin phases run: the header list (wire
 * order, original case, with APISIX's {@code X-Forwarded-*} already added), the decoded args, the
 * upstream URI and host, the body. Rewrites mutate it; vars are computed from it.
 */
final class CallState {
    private static final ObjectMapper JSON = new ObjectMapper();

    final RouteConf route;
    final String method;
    final String rawTarget;
    final String rawPath;
    final String rawQuery;
    /** nginx's {@code $uri} (normalised); null when nginx refuses the request line with 400 ({@link #badRequest}). */
    final String uri;
    /**
     * {@code ctx.var.request_uri} as APISIX 3.18 answers it: {@code apisix/init.lua}
     * {@code http_access_phase} saves nginx's raw {@code $request_uri} as {@code real_request_uri}
     * and replaces {@code request_uri} with {@code uri .. is_args .. args} before any plugin runs.
     * Computed once, from the request as it arrived: later rewrites do not change it.
     */
    final String requestUri;
    final String remoteAddr;
    final String requestId;
    final int gatewayPort;
    final List<HttpHeader> headers = new ArrayList<>();
    List<A6Client.Entry> args;
    boolean argsRewritten;
    String rewrittenPath;
    String upstreamHost;
    byte[] body;
    /** {@code Rewrite.resp_headers} kept for the client response (lower-cased, exclude list applied). */
    final List<HttpHeader> respHeaders = new ArrayList<>();
    /** Set in post-resp: the target APISIX's own HTTP client used. */
    String upstreamUriVar = "";

    CallState(RouteConf route, ClientRequest req, String requestId, int gatewayPort) {
        this.route = route;
        this.method = req.method();
        this.rawTarget = req.target();
        int q = rawTarget.indexOf('?');
        this.rawPath = q < 0 ? rawTarget : rawTarget.substring(0, q);
        this.rawQuery = q < 0 ? null : rawTarget.substring(q + 1);
        this.uri = NginxText.normalizePath(rawPath).orElse(null);
        this.requestUri = uri + (rawQuery == null || rawQuery.isEmpty() ? "" : "?" + rawQuery);
        this.remoteAddr = req.remoteAddr();
        this.requestId = requestId;
        this.gatewayPort = gatewayPort;
        this.headers.addAll(req.headers());
        if (first("host") == null) {
            headers.add(0, new HttpHeader("Host", "gateway.test"));
        }
        this.upstreamHost = first("host");
        // apisix/init.lua sets these before any plugin runs; they land at the END of the header
        // list, which is why the 100-header cap cuts them off (conformance R1, R11).
        setHeader("X-Forwarded-Proto", "http");
        setHeader("X-Forwarded-Host", upstreamHost);
        setHeader("X-Forwarded-Port", Integer.toString(gatewayPort));
        this.args = NginxText.parseArgs(rawQuery);
        this.body = req.body();
        editBeforePreReq();
    }

    /** nginx refuses the request line (400) before any phase: nothing reaches the runner or the upstream. */
    boolean badRequest() {
        return uri == null;
    }

    /**
     * APISIX's cached header table ({@code ctx.headers}) when a plugin before
     * {@code ext-plugin-pre-req} read it and then removed a header (conformance H3, H4): the first
     * 100 lines as read then, edited in place by every later header change and never re-read, so
     * the call frame can have fewer than 100 entries and still lack a header past the 100th line
     * that nginx forwards. Null when nothing cached it: the frame is then read fresh, capped at 100
     * of the lines left (H1, H2).
     */
    private List<HttpHeader> headerTable;

    /** Applies the route's {@link RouteConf#editsBeforePreReq()} (a global rule's header edits), in order. */
    private void editBeforePreReq() {
        for (RouteConf.HeaderEdit e : route.editsBeforePreReq()) {
            if (e.afterRead() && headerTable == null) {
                headerTable = new ArrayList<>(headers.subList(0, Math.min(headers.size(), 100)));
            }
            if (e.removes()) {
                removeHeader(e.name());
            } else {
                setHeader(e.name(), e.value());
            }
        }
    }

    String first(String name) {
        return HttpWire.first(headers, name);
    }

    /** {@code ngx.req.set_header}: the first entry of that name is replaced in place, the others removed; else appended. */
    void setHeader(String name, String value) {
        int at = -1;
        for (int i = 0; i < headers.size(); i++) {
            if (headers.get(i).is(name)) {
                if (at < 0) {
                    at = i;
                    headers.set(i, new HttpHeader(name, value));
                } else {
                    headers.remove(i--);
                }
            }
        }
        if (at < 0) {
            headers.add(new HttpHeader(name, value));
        }
        if (headerTable != null) { // core.request.set_header updates the cached table too
            headerTable.removeIf(h -> h.is(name));
            headerTable.add(new HttpHeader(name, value));
        }
    }

    void removeHeader(String name) {
        headers.removeIf(h -> h.is(name));
        if (headerTable != null) {
            headerTable.removeIf(h -> h.is(name));
        }
    }

    /**
     * The first 100 headers, names lower-cased: what HTTPReqCall carries (conformance R1, R11); the
     * cached table instead when a plugin before ext-plugin-pre-req read it (H3, H4).
     */
    List<A6Client.Entry> callHeaders() {
        List<A6Client.Entry> out = new ArrayList<>();
        for (HttpHeader h : headerTable != null ? headerTable : headers) {
            if (out.size() == 100) {
                break;
            }
            out.add(new A6Client.Entry(h.name().toLowerCase(Locale.ROOT), h.value()));
        }
        return out;
    }

    byte[] srcIp() {
        try {
            return InetAddress.getByName(remoteAddr).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("remoteAddr must be an IP literal: " + remoteAddr, e);
        }
    }

    int methodCode() {
        String[] names = io.github.api7.A6.Method.names;
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(method)) {
                return i;
            }
        }
        return 0;
    }

    /** The query as it will reach the upstream: the client's raw query (null when empty), or ngx.encode_args of rewritten args. */
    String currentQuery() {
        if (!argsRewritten) {
            // "/x?": nginx's r->args is empty, so $is_args is "" and $args missing (conformance E1)
            return rawQuery == null || rawQuery.isEmpty() ? null : rawQuery;
        }
        String q = NginxText.encodeArgs(args);
        return q.isEmpty() ? null : q;
    }

    /**
     * The upstream request target: the client's raw target when nothing was rewritten (R1); else
     * the (uri_safe_encoded) rewritten path or the raw path, plus the current query (R5, R5b, R5c).
     */
    String upstreamTarget() {
        if (rewrittenPath == null && !argsRewritten) {
            return rawTarget;
        }
        String path = rewrittenPath != null ? rewrittenPath : rawPath;
        String q = currentQuery();
        return q == null ? path : path + "?" + q;
    }

    /**
     * {@code ctx.var[name]} as APISIX answers an ExtraInfo Var question: the string value, or empty
     * for a missing var (then the answer has no {@code result} field, conformance R2/P1).
     */
    Optional<String> var(String name, ExtPhase phase) {
        switch (name) {
            case "remote_addr":
                return Optional.of(remoteAddr);
            case "request_id":
                return Optional.of(requestId);
            case "route_id":
                return Optional.of(route.id());
            case "request_uri":
                return Optional.of(requestUri);
            case "real_request_uri":
                return Optional.of(rawTarget);
            case "request_method":
                return Optional.of(method);
            case "uri":
                return Optional.of(uri);
            case "upstream_uri":
                // present and empty in the request phases (R2)
                return Optional.of(phase == ExtPhase.POST_RESP ? upstreamUriVar : "");
            case "args":
            case "query_string":
                return Optional.ofNullable(currentQuery());
            case "is_args":
                return Optional.of(currentQuery() == null ? "" : "?");
            case "host": {
                String h = Optional.ofNullable(first("host")).orElse("");
                int colon = h.startsWith("[") ? h.indexOf("]:") + 1 : h.indexOf(':');
                return Optional.of((colon > 0 ? h.substring(0, colon) : h).toLowerCase(Locale.ROOT));
            }
            case "scheme":
                return Optional.of("http");
            case "server_port":
                return Optional.of(Integer.toString(gatewayPort));
            case "server_protocol":
                return Optional.of("HTTP/1.1");
            case "content_type":
                return var("http_content_type", phase);
            case "content_length":
                return var("http_content_length", phase);
            case "status":
                // recorded "0" in post-resp (P1); nginx formats an unset status as "000" before that
                return Optional.of(phase == ExtPhase.POST_RESP ? "0" : "000");
            case "upstream_status":
                return Optional.empty(); // absent even in post-resp (P1)
            default:
                break;
        }
        if (name.startsWith("http_")) {
            return headerVar(name.substring(5));
        }
        if (name.startsWith("cookie_")) {
            return cookie(name.substring(7));
        }
        if (name.startsWith("arg_")) {
            String n = name.substring(4);
            return args.stream().filter(e -> e.name().equals(n)).map(e -> e.value() == null ? "" : e.value()).findFirst();
        }
        if (name.startsWith("post_arg.")) {
            return postArg(name.substring("post_arg.".length()));
        }
        return Optional.empty();
    }

    /** nginx {@code $http_<name>}: all headers (no 100 cap, R11), repeated values joined with ", " (R2 http_x_multi). */
    private Optional<String> headerVar(String varName) {
        List<String> values = new ArrayList<>();
        for (HttpHeader h : headers) {
            if (h.name().toLowerCase(Locale.ROOT).replace('-', '_').equals(varName)) {
                values.add(h.value());
            }
        }
        if (values.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(String.join(varName.equals("cookie") ? "; " : ", ", values));
    }

    private Optional<String> cookie(String cookieName) {
        return headerVar("cookie").flatMap(all -> {
            for (String part : all.split(";")) {
                int eq = part.indexOf('=');
                if (eq > 0 && part.substring(0, eq).trim().equals(cookieName)) {
                    return Optional.of(part.substring(eq + 1).trim());
                }
            }
            return Optional.empty();
        });
    }

    /**
     * APISIX ≥ 3.14 {@code post_arg.*}: a field of a JSON body (dotted path into objects) or of a
     * form body; strings as is, other scalars as their JSON text (R2: {@code post_arg.model},
     * {@code post_arg.text} with UTF-8 intact).
     */
    private Optional<String> postArg(String path) {
        if (body == null || body.length == 0) {
            return Optional.empty();
        }
        String ct = Optional.ofNullable(first("content-type")).orElse("").toLowerCase(Locale.ROOT);
        if (ct.contains("json")) {
            try {
                JsonNode n = JSON.readTree(body);
                for (String part : path.split("\\.")) {
                    if (n == null || !n.isObject()) {
                        return Optional.empty();
                    }
                    n = n.get(part);
                }
                if (n == null || n.isNull() || n.isMissingNode()) {
                    return Optional.empty();
                }
                return Optional.of(n.isValueNode() ? n.asText() : n.toString());
            } catch (java.io.IOException e) {
                return Optional.empty();
            }
        }
        if (ct.contains("application/x-www-form-urlencoded")) {
            for (A6Client.Entry e : NginxText.parseArgs(new String(body, StandardCharsets.UTF_8))) {
                if (e.name().equals(path)) {
                    return Optional.of(e.value() == null ? "" : e.value());
                }
            }
        }
        return Optional.empty();
    }
}
