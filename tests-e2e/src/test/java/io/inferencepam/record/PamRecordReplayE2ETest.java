package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Replay through a real HTTP gateway (backed by the driver and the real runner) and offline policy replay. */
class PamRecordReplayE2ETest {
    static final String AUTH = "{\"subject\":\"sub-alice\",\"username\":\"alice\",\"upstream_secret\":\"sk-up-replay-SECRET-99\","
            + "\"deny_models\":[\"gpt-secret\"]}";
    static final String OPERATOR_TOKEN = "operator-token-0123456789";
    static AuditFixture fx;
    static HttpServer gateway;
    static final List<String> gatewaySawAuthorization = new CopyOnWriteArrayList<>();

    static RouteConf route(String id) {
        return RouteConf.builder(id).preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("test-pam-auth", AUTH))
                .postResp(new ConfEntry("test-pam-mask", "{}"), new ConfEntry("pam-record", "{}")).build();
    }

    @BeforeAll
    static void start() throws Exception {
        fx = new AuditFixture(Map.of(), true);
        // A small real HTTP gateway: each request goes through the driver (APISIX's side) and the real runner.
        gateway = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        gateway.createContext("/", ex -> {
            ClientRequest.Builder b = ClientRequest.builder(ex.getRequestMethod(), ex.getRequestURI().toString());
            ex.getRequestHeaders().forEach((k, vs) -> vs.forEach(v -> b.header(k, v)));
            gatewaySawAuthorization.add(ex.getRequestHeaders().getFirst("Authorization"));
            b.body(ex.getRequestBody().readAllBytes()).remoteAddr("10.9.9.9");
            GatewayResult r = fx.driver.call(route("rec-replay"), b.build(), fx.upstream);
            for (HttpHeader h : r.headers()) {
                if (!h.is("content-length") && !h.is("transfer-encoding") && !h.is("connection")) {
                    ex.getResponseHeaders().add(h.name(), h.value());
                }
            }
            ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
            ex.getResponseBody().write(r.body());
            ex.close();
        });
        gateway.start();
    }

    @AfterAll
    static void stop() throws Exception {
        gateway.stop(0);
        fx.close();
    }

    static ClientRequest chat(String model) {
        return ClientRequest.builder("POST", "/v1/chat/completions?trace=1").header("Authorization", "Bearer orig-client-token-abcdef")
                .header("Content-Type", "application/json")
                .body("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi 東京\"}]}").build();
    }

    @Test
    void replayResendsUnderTheOperatorsTokenAndDiffsTheResponses() throws Exception {
        fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")),
                "{\"answer\":\"v1 for alice@example.com\",\"usage\":{\"total_tokens\":7}}");
        ClientRequest original = chat("llama-3-70b");
        GatewayResult first = fx.driver.call(route("rec-replay"), original, fx.upstream);
        assertThat(first.status()).isEqualTo(200);
        JsonNode rec = fx.record(first.requestId());

        fx.upstream.clear();
        fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")),
                "{\"answer\":\"v2 changed\",\"usage\":{\"total_tokens\":7}}");
        PamRecordE2ETest.Run run = PamRecordE2ETest.pamctl("audit", "replay", rec.path("id").asText(), "--redis", fx.redis.url(),
                "--gateway", "http://127.0.0.1:" + gateway.getAddress().getPort(), "--token", OPERATOR_TOKEN);
        assertThat(run.code()).as(run.out()).isZero();
        assertThat(run.out()).contains("recorded: status 200").contains("replayed: status 200")
                .containsPattern("(?m)^- .*\"v1 for \\[EMAIL\\]\"").containsPattern("(?m)^\\+ .*\"v2 changed\"")
                .containsPattern("(?m)^  .*\"total_tokens\" : 7");
        // under the operator's identity, never the original token
        assertThat(gatewaySawAuthorization).containsExactly("Bearer " + OPERATOR_TOKEN);
        var up = fx.upstream.requests().get(fx.upstream.requests().size() - 1);
        assertThat(up.body()).isEqualTo(original.body()); // the exact recorded body
        assertThat(up.target()).isEqualTo("/v1/chat/completions?trace=1");
        assertThat(up.header("x-pam-replay-of")).contains(rec.path("id").asText());
        // the replay is itself recorded, marked, and the operator token is not stored
        List<JsonNode> replays = fx.query().search(new io.inferencepam.pam.record.query.AuditFilter(java.util.Optional.empty(),
                java.util.Optional.empty(), java.util.Optional.of("rec-replay"), java.util.Optional.empty(), java.util.Optional.empty(),
                java.util.Optional.empty(), 100));
        long end = System.nanoTime() + 10_000_000_000L;
        while (replays.size() < 2 && System.nanoTime() < end) {
            Thread.sleep(50);
            replays = fx.query().search(new io.inferencepam.pam.record.query.AuditFilter(java.util.Optional.empty(),
                    java.util.Optional.empty(), java.util.Optional.of("rec-replay"), java.util.Optional.empty(),
                    java.util.Optional.empty(), java.util.Optional.empty(), 100));
        }
        assertThat(replays).anySatisfy(r -> assertThat(r.path("request").path("headers").toString())
                .contains("[\"x-pam-replay-of\",\"" + rec.path("id").asText() + "\"]"));
        assertThat(fx.everythingStored()).doesNotContain(OPERATOR_TOKEN).doesNotContain("orig-client-token-abcdef")
                .doesNotContain("sk-up-replay-SECRET-99");
    }

    @Test
    void policyReplayReportsWhatACandidateConfWouldChange() throws Exception {
        fx.upstream.respondAlways(io.inferencepam.driver.EchoUpstream.Response.of(200,
                List.of(new HttpHeader("Content-Type", "application/json")), "{\"ok\":true}".getBytes()));
        String big = fx.driver.call(route("rec-pol"), chat("llama-3-70b"), fx.upstream).requestId();
        String small = fx.driver.call(route("rec-pol"), chat("llama-3-8b"), fx.upstream).requestId();
        String same = fx.driver.call(route("rec-pol"), chat("mistral-7b"), fx.upstream).requestId();
        String denied = fx.driver.call(route("rec-pol"), chat("gpt-secret"), fx.upstream).requestId();
        fx.upstream.respondAlways(null);
        for (String id : List.of(big, small, same, denied)) {
            fx.record(id);
        }
        // candidate: pam-auth no longer denies gpt-secret; a guard now holds llama-3-70b and blocks llama-3-8b
        String candidateAuth = AUTH.replace("\"deny_models\":[\"gpt-secret\"]", "\"deny_models\":[]");
        String route = "{\"id\":\"rec-pol\",\"plugins\":{\"ext-plugin-pre-req\":{\"conf\":["
                + "{\"name\":\"pam-record\",\"value\":\"{}\"},"
                + "{\"name\":\"test-pam-auth\",\"value\":" + quote(candidateAuth) + "},"
                + "{\"name\":\"test-pam-guard\",\"value\":" + quote("{\"deny_models\":[\"llama-3-8b\"],\"hold_models\":[\"llama-3-70b\"]}") + "}"
                + "]},\"ext-plugin-post-resp\":{\"conf\":[{\"name\":\"test-pam-mask\",\"value\":\"{}\"},{\"name\":\"pam-record\",\"value\":\"{}\"}]}}}";
        Path file = Files.createTempFile("candidate", ".json");
        Files.writeString(file, route);
        PamRecordE2ETest.Run run = PamRecordE2ETest.pamctl("audit", "policy-replay", "--redis", fx.redis.url(), "--route", "rec-pol",
                "--route-conf", file.toString(), "--skip", "test-pam-auth");
        assertThat(run.code()).as(run.out()).isZero();
        assertThat(run.out()).containsPattern(big + ".*change=now_held")
                .containsPattern(small + ".*change=now_blocked")
                .containsPattern(denied + ".*change=now_allowed")
                .doesNotContain(same)
                .contains("UNCHANGED=1");
        // an invalid candidate is refused with the runtime's own conf checks
        Files.writeString(file, route.replace("test-pam-guard", "test-pam-gaurd"));
        PamRecordE2ETest.Run bad = PamRecordE2ETest.pamctl("audit", "policy-replay", "--redis", fx.redis.url(),
                "--route-conf", file.toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.out()).contains("unknown plugin name");
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
