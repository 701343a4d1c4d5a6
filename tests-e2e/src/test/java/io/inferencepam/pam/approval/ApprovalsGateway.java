package io.inferencepam.pam.approval;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.driver.UpstreamRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;

/**
 * A real HTTP front for the APISIX-side driver, so that HTTP clients (pamctl, SDKs) can be pointed
 * at "the gateway". Two APISIX routes:
 * <ul>
 *   <li>{@code /pam/approvals*} → the approvals route: the driver runs its {@code ext-plugin-pre-req}
 *       (pam-auth with the control token as upstream credential, then pam-approval-review) exactly
 *       as APISIX would, then this front does nginx's part: {@code proxy-rewrite} of
 *       {@code ^/pam/approvals(.*)} to {@code /v1/approvals$1} and {@code proxy_pass} to the runner's
 *       loopback control API with {@code pass_host: node} (Host = the control API's address);</li>
 *   <li>everything else → the data route, proxied by the driver to the echo upstream.</li>
 * </ul>
 */
final class ApprovalsGateway implements AutoCloseable {
    static final String PREFIX = "/pam/approvals";
    private static final Set<String> HOP = Set.of("connection", "content-length", "transfer-encoding", "host", "keep-alive",
            "upgrade", "expect", "te", "trailer");

    private final HttpServer server;
    private final ApisixDriver driver;
    private final RouteConf approvalsRoute;
    private final int controlPort;
    private volatile RouteConf dataRoute;
    private final EchoUpstream upstream;
    private final HttpClient http = HttpClient.newHttpClient();

    ApprovalsGateway(ApisixDriver driver, RouteConf approvalsRoute, int controlPort, RouteConf dataRoute, EchoUpstream upstream)
            throws IOException {
        this.driver = driver;
        this.approvalsRoute = approvalsRoute;
        this.controlPort = controlPort;
        this.dataRoute = dataRoute;
        this.upstream = upstream;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/", this::serve);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void dataRoute(RouteConf route) {
        this.dataRoute = route;
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            URI uri = ex.getRequestURI();
            String target = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            ClientRequest.Builder b = ClientRequest.builder(ex.getRequestMethod(), target);
            for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
                for (String v : h.getValue()) {
                    b.header(h.getKey(), v);
                }
            }
            byte[] body = ex.getRequestBody().readAllBytes();
            if (body.length > 0) {
                b.body(body);
            }
            ClientRequest req = b.build();
            if (uri.getRawPath().startsWith(PREFIX)) {
                GatewayResult r = driver.call(approvalsRoute, req, null);
                if (r.upstreamRequests().isEmpty()) {
                    write(ex, r.status(), r.headers(), r.body());
                } else {
                    forward(ex, r.upstreamRequests().get(0));
                }
            } else {
                GatewayResult r = driver.call(dataRoute, req, upstream);
                write(ex, r.status(), r.headers(), r.body());
            }
        } catch (Exception e) {
            byte[] msg = ("{\"error\":{\"message\":\"test gateway: " + e.getClass().getSimpleName() + "\",\"type\":\"server_error\",\"code\":\"bad_gateway\"}}").getBytes();
            ex.sendResponseHeaders(502, msg.length);
            ex.getResponseBody().write(msg);
        }
    }

    /** nginx's part: proxy-rewrite, then proxy_pass to the control API with Host = the node. */
    private void forward(HttpExchange ex, UpstreamRequest up) throws Exception {
        String rewritten = "/v1/approvals" + up.target().substring(PREFIX.length());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPort + rewritten));
        for (HttpHeader h : up.headers()) {
            if (!HOP.contains(h.name().toLowerCase(Locale.ROOT))) {
                b.header(h.name(), h.value());
            }
        }
        b.method(up.method(), up.body().length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(up.body()));
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        List<HttpHeader> headers = new java.util.ArrayList<>();
        r.headers().map().forEach((k, vs) -> vs.forEach(v -> headers.add(new HttpHeader(k, v))));
        write(ex, r.statusCode(), headers, r.body());
    }

    private static void write(HttpExchange ex, int status, List<HttpHeader> headers, byte[] body) throws IOException {
        for (HttpHeader h : headers) {
            if (!HOP.contains(h.name().toLowerCase(Locale.ROOT)) && !h.name().startsWith(":")) {
                ex.getResponseHeaders().add(h.name(), h.value());
            }
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
