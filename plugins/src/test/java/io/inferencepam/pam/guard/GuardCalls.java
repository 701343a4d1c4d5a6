package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.CanonicalPath;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.conf.PluginRegistry;
import io.inferencepam.runner.conf.PreparedConf;
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
import io.inferencepam.runner.spi.Stop;
import io.inferencepam.runner.spi.Vars;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Builds pam-guard plugins through the runtime's real conf compiler (schema included) and runs
 * requests through them the way the runtime hands them over ($uri decoded, real_request_uri raw).
 */
final class GuardCalls {
    static final ObjectMapper M = new ObjectMapper();
    static final PrometheusMetrics METRICS = new PrometheusMetrics();

    String method = "POST";
    String path = "/v1/chat/completions";
    String rawUri;
    boolean noRawTarget;
    final List<Header> args = new ArrayList<>();
    final Map<String, String> vars = new HashMap<>();
    Body body = Body.utf8("{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":64}");
    final Attributes exchange = new Attributes();

    static GuardCalls call(String method, String path) {
        GuardCalls c = new GuardCalls();
        c.method = method;
        c.path = path;
        c.vars.put("http_content_type", "application/json");
        return c;
    }

    static GuardCalls chat() {
        return call("POST", "/v1/chat/completions");
    }

    GuardCalls raw(String rawUri) {
        this.rawUri = rawUri;
        return this;
    }

    GuardCalls body(String json) {
        this.body = Body.utf8(json);
        return this;
    }

    /** APISIX does not answer the raw target (an older APISIX, a var renamed): the guard must refuse. */
    GuardCalls noRawTarget() {
        this.noRawTarget = true;
        return this;
    }

    GuardCalls var(String name, String value) {
        vars.put(name, value);
        return this;
    }

    static PluginEnvironment env() {
        return new PluginEnvironment() {
            public Executor blockingExecutor() {
                return Runnable::run;
            }

            public ScheduledExecutorService scheduler() {
                throw new UnsupportedOperationException();
            }

            public ControlApi control() {
                return (m, p, h) -> { };
            }

            public Metrics metrics() {
                return METRICS;
            }

            public Clock clock() {
                return Clock.systemUTC();
            }

            public Optional<String> setting(String name) {
                return Optional.empty();
            }

            public void onShutdown(AutoCloseable resource) {
            }
        };
    }

    static Plugin plugin(String conf, BodyCheck.Factory... checks) {
        ConfCompiler compiler = new ConfCompiler(PluginRegistry.of(List.of(new GuardPluginFactory(env(), List.of(checks))),
                ConfCompiler.STRICT_JSON));
        try {
            PreparedConf pc = compiler.compile("route#r1#ext-plugin-pre-req#1", List.of(new Header("pam-guard", conf)), 1);
            return pc.plugins().get(0);
        } catch (InvalidConfsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    RequestDecision run(Plugin plugin) {
        // as APISIX 3.18 answers them: the raw target as real_request_uri, request_uri normalised
        if (!noRawTarget) {
            vars.putIfAbsent(CanonicalPath.RAW_TARGET_VAR, rawUri != null ? rawUri : path);
        }
        vars.putIfAbsent("request_uri", path);
        HttpRequest req = new HttpRequest(1, method, path, Headers.of(args), Headers.empty(), "10.0.0.7", Vars.of(vars),
                Optional.ofNullable(body));
        CallContext ctx = new CallContext(new Attributes(), Optional.of(exchange),
                ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1), Instant.now().plusSeconds(30));
        return plugin.onRequest(req, ctx).toCompletableFuture().join();
    }

    CallFacts facts() {
        return CallFacts.of(new CallContext(new Attributes(), Optional.of(exchange),
                ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1), Instant.now()));
    }

    List<Decision> decisions() {
        return facts().decisions();
    }

    static Stop stop(RequestDecision d) {
        if (d instanceof RequestDecision.Halt h) {
            return h.stop();
        }
        throw new AssertionError("expected a stop, got " + d);
    }

    static boolean passed(RequestDecision d) {
        return d instanceof RequestDecision.Proceed;
    }

    static JsonNode error(RequestDecision d) {
        try {
            return M.readTree(stop(d).body().utf8()).path("error");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
