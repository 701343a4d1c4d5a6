package io.inferencepam.pam.mask;

import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.conf.PluginRegistry;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.Vars;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/** Builds pam-mask plugins through the runtime's real conf compiler (schema included). */
final class MaskTestSupport {
    static final String KEY = "0123456789abcdef0123456789abcdef";

    private MaskTestSupport() {
    }

    static PluginEnvironment env(Map<String, String> settings) {
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
                throw new UnsupportedOperationException();
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
        return new ConfCompiler(PluginRegistry.of(List.of(new MaskPluginFactory(env(settings))), ConfCompiler.STRICT_JSON));
    }

    static Plugin plugin(String conf) {
        return plugin(conf, Map.of("PAM_MASK_HMAC_KEY", KEY));
    }

    static Plugin plugin(String conf, Map<String, String> settings) {
        try {
            PreparedConf pc = compiler(settings).compile("route#r1#ext-plugin-post-resp#1",
                    List.of(new Header("pam-mask", conf)), 1);
            return pc.plugins().get(0);
        } catch (InvalidConfsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    static CallContext context() {
        return new CallContext(new Attributes(), Optional.of(new Attributes()),
                ConfIdentity.fromKey("route#r1#ext-plugin-post-resp#1", "x", 1), Instant.now().plusSeconds(30));
    }

    static HttpResponse response(String contentType, byte[] body, String... extraHeaders) {
        Headers h = Headers.of("Content-Type", contentType, "Content-Length", Integer.toString(body.length));
        for (int i = 0; i + 1 < extraHeaders.length; i += 2) {
            h = h.with(extraHeaders[i], extraHeaders[i + 1]);
        }
        return new HttpResponse(7, 200, h, Vars.empty(), Optional.of(Body.wrap(body)));
    }

    /** Runs the response phase and applies the change, as the runtime does. */
    static HttpResponse run(Plugin p, HttpResponse r, CallContext ctx) {
        return r.apply(p.onResponse(r, ctx).toCompletableFuture().join());
    }

    static String bodyOf(HttpResponse r) {
        return r.body().orElseThrow().utf8();
    }
}
