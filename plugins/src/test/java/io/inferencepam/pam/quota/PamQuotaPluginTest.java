package io.inferencepam.pam.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.auth.Glob;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.conf.PluginRegistry;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/**
 * pam-quota without a live Redis: conf validation through the runtime's real compiler (schema
 * included), and every path that answers before or without the store: no principal, a stream
 * that would not report usage, the store unreachable (a closed port), fail_open.
 */
class PamQuotaPluginTest {
    static final Principal ALICE = new Principal("https://idp.example", "alice-sub", "alice", List.of("ml"), "nb");

    static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static PluginEnvironment env(Map<String, String> settings) {
        PrometheusMetrics metrics = new PrometheusMetrics();
        Executor blocking = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        });
        return new PluginEnvironment() {
            public Executor blockingExecutor() {
                return blocking;
            }

            public ScheduledExecutorService scheduler() {
                throw new UnsupportedOperationException();
            }

            public ControlApi control() {
                return (m, p, h) -> { };
            }

            public Metrics metrics() {
                return metrics;
            }

            public Clock clock() {
                return Clock.systemUTC();
            }

            public Optional<String> setting(String name) {
                return Optional.ofNullable(settings.get(name));
            }

            public void onShutdown(AutoCloseable resource) {
            }
        };
    }

    static ConfCompiler compiler(Map<String, String> settings) {
        return new ConfCompiler(PluginRegistry.of(List.of(new PamQuotaFactory(new PamServices(env(settings)))), ConfCompiler.STRICT_JSON));
    }

    static Plugin plugin(String conf, String redisUrl) {
        try {
            return compiler(Map.of("PAM_REDIS_URL", redisUrl)).compile("route#r1#ext-plugin-pre-req#1",
                    List.of(new Header("pam-quota", conf)), 1).plugins().get(0);
        } catch (InvalidConfsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    static CallContext context() {
        return new CallContext(new Attributes(), Optional.of(new Attributes()),
                ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "x", 1), Instant.now().plusSeconds(30));
    }

    static HttpRequest chat(String body) {
        return new HttpRequest(1, "POST", "/v1/chat/completions", Headers.empty(), Headers.of("content-type", "application/json"),
                "127.0.0.1", Vars.empty(), Optional.of(Body.utf8(body)));
    }

    static RequestDecision.Halt halted(RequestDecision d) {
        assertThat(d).isInstanceOf(RequestDecision.Halt.class);
        return (RequestDecision.Halt) d;
    }

    static final String REQUESTS = "{\"limits\":[{\"id\":\"hourly\",\"window_seconds\":3600,\"requests\":100}]}";

    @Test
    void invalidConfsAreRefusedAtPrepareConf() {
        for (String bad : List.of("{}", "{\"limits\":[]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60}]}",
                "{\"limits\":[{\"id\":\"x y\",\"window_seconds\":60,\"requests\":1}]}",
                "{\"limits\":[{\"id\":\"x{y}\",\"window_seconds\":60,\"requests\":1}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":0,\"requests\":1}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":31622401,\"requests\":1}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":-1}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1.5}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1,\"model\":[\"a\"]}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1,\"models\":[]}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1}],\"failopen\":true}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1},{\"id\":\"x\",\"window_seconds\":3600,\"tokens\":1}]}",
                "{\"limits\":[{\"id\":\"x\",\"window_seconds\":60,\"requests\":1}],\"limits\":[]}")) {
            assertThatThrownBy(() -> plugin(bad, "redis://127.0.0.1:1")).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(plugin("{\"limits\":[{\"id\":\"a.b_c-1\",\"window_seconds\":86400,\"tokens\":0,\"models\":[\"llama-*\"],"
                + "\"per_model\":true}],\"fail_open\":false,\"require_stream_usage\":true}", "redis://127.0.0.1:1")).isNotNull();
    }

    @Test
    void withoutAPrincipalTheCallIsRefusedWith500AndRecorded() {
        CallContext ctx = context();
        RequestDecision.Halt h = halted(plugin(REQUESTS, "redis://127.0.0.1:1").onRequest(chat("{}"), ctx).toCompletableFuture().join());
        assertThat(h.stop().status()).isEqualTo(500);
        assertThat(h.stop().body().utf8()).contains("\"code\":\"quota_misconfigured\"");
        assertThat(CallFacts.of(ctx).decisions()).containsExactly(new Decision("pam-quota", "principal:missing", Decision.Outcome.ERROR,
                "no principal (pam-auth must run first)"));
    }

    @Test
    void redisUnreachableFailsClosedWith503() throws Exception {
        CallContext ctx = context();
        CallFacts.of(ctx).principal(ALICE);
        RequestDecision d = plugin(REQUESTS, "redis://127.0.0.1:" + closedPort()).onRequest(chat("{}"), ctx).toCompletableFuture()
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        RequestDecision.Halt h = halted(d);
        assertThat(h.stop().status()).isEqualTo(503);
        assertThat(h.stop().body().utf8()).isEqualTo("{\"error\":{\"message\":\"The gateway cannot check your quota right now, so the "
                + "request was refused. Retry shortly.\",\"type\":\"service_unavailable\",\"code\":\"quota_unavailable\"}}");
        Decision decided = CallFacts.of(ctx).decisions().get(0);
        assertThat(decided.outcome()).isEqualTo(Decision.Outcome.ERROR);
        assertThat(decided.reason()).startsWith("quota store unavailable (JedisConnectionException");
    }

    @Test
    void failOpenPassesAndSaysSo() throws Exception {
        CallContext ctx = context();
        CallFacts.of(ctx).principal(ALICE);
        String conf = REQUESTS.replace("]}", "],\"fail_open\":true}");
        RequestDecision d = plugin(conf, "redis://127.0.0.1:" + closedPort()).onRequest(chat("{}"), ctx).toCompletableFuture()
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(d).isInstanceOf(RequestDecision.Proceed.class);
        assertThat(CallFacts.of(ctx).decisions().get(0).reason()).endsWith("passed uncounted: the route sets fail_open");
    }

    @Test
    void aStreamWithoutUsageOnATokenCappedRouteIsRefusedBeforeTheStore() {
        CallContext ctx = context();
        CallFacts.of(ctx).principal(ALICE);
        Plugin p = plugin("{\"limits\":[{\"id\":\"t\",\"window_seconds\":60,\"tokens\":100}]}", "redis://127.0.0.1:1");
        RequestDecision.Halt h = halted(p.onRequest(chat("{\"stream\":true}"), ctx).toCompletableFuture().join());
        assertThat(h.stop().status()).isEqualTo(400);
        assertThat(h.stop().body().utf8()).contains("\"code\":\"stream_usage_required\"").contains("include_usage");
        assertThat(CallFacts.of(ctx).decisions().get(0).outcome()).isEqualTo(Decision.Outcome.DENY);
        // the same route with the check turned off asks the store (unreachable here: 503)
        Plugin off = plugin("{\"limits\":[{\"id\":\"t\",\"window_seconds\":60,\"tokens\":100}],\"require_stream_usage\":false}",
                "redis://127.0.0.1:1");
        assertThat(off.requirements(io.inferencepam.runner.spi.Phase.REQUEST).requestBody()).isFalse();
        assertThat(p.requirements(io.inferencepam.runner.spi.Phase.RESPONSE).responseBody()).isTrue();
        assertThat(plugin(REQUESTS, "redis://127.0.0.1:1").requirements(io.inferencepam.runner.spi.Phase.RESPONSE).responseBody())
                .as("a requests-only route reads no response body").isFalse();
    }

    @Test
    void limitsApplyByModelPatternAcrossSegments() {
        QuotaLimit l = new QuotaLimit("x", Duration.ofMinutes(1), 1, -1, List.of(new Glob("llama-*")), false);
        assertThat(l.appliesTo(Optional.of("llama-3-8b"))).isTrue();
        assertThat(l.appliesTo(Optional.of("llama-3/evil:tag"))).as("* crosses separators: covers at least what it seems to").isTrue();
        assertThat(l.appliesTo(Optional.of("mistral"))).isFalse();
        assertThat(l.appliesTo(Optional.empty())).as("model-free calls").isFalse();
        assertThat(new QuotaLimit("y", Duration.ofMinutes(1), 1, -1, List.of(), false).appliesTo(Optional.empty())).isTrue();
    }

    @Test
    void keysShareOneHashTagPerPrincipalAndHideWhatTheTokenSaid() {
        List<QuotaLimit> limits = List.of(new QuotaLimit("a", Duration.ofHours(1), 1, -1, List.of(), false),
                new QuotaLimit("b", Duration.ofDays(1), -1, 5, List.of(), true));
        Principal odd = new Principal("https://idp.example", "}{evil}@example.com", "", List.of(), "");
        List<QuotaCounter> c = QuotaKeys.counters(limits, odd, Optional.of("gpt-4o"));
        assertThat(c).hasSize(2);
        String tag = c.get(0).key().substring(c.get(0).key().indexOf('{'), c.get(0).key().indexOf('}') + 1);
        assertThat(tag).matches("\\{[0-9a-f]{32}}");
        assertThat(c.get(1).key()).startsWith("pam:quota:" + tag + ":b:86400s:m:").doesNotContain("gpt").doesNotContain("evil");
        assertThat(c.get(0).key()).isEqualTo("pam:quota:" + tag + ":a:3600s");
        Principal otherIssuer = new Principal("https://other.example", odd.subject(), "", List.of(), "");
        assertThat(QuotaKeys.counters(limits, otherIssuer, Optional.empty()).get(0).key()).isNotEqualTo(c.get(0).key());
        // no (issuer, subject) pair spells another: the issuer is length-prefixed
        Principal a = new Principal("https://i", "x\ny", "", List.of(), "");
        Principal b = new Principal("https://i\nx", "y", "", List.of(), "");
        assertThat(QuotaKeys.principalTag(a)).isNotEqualTo(QuotaKeys.principalTag(b));
    }

    @Test
    void windowsReadNaturallyInMessages() {
        assertThat(PamQuotaPlugin.window(60_000)).isEqualTo("minute");
        assertThat(PamQuotaPlugin.window(3_600_000)).isEqualTo("hour");
        assertThat(PamQuotaPlugin.window(7_200_000)).isEqualTo("2 hours");
        assertThat(PamQuotaPlugin.window(86_400_000L * 30)).isEqualTo("30 days");
        assertThat(PamQuotaPlugin.window(90_000)).isEqualTo("90 seconds");
    }
}
