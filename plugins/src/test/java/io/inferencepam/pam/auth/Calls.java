package io.inferencepam.pam.auth;

import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Builds requests the way the runtime hands them to a plugin, and runs one call. */
final class Calls {
    String method = "POST";
    String path = "/v1/chat/completions";
    String rawUri;
    boolean noRawTarget;
    final List<Header> args = new ArrayList<>();
    final Map<String, String> vars = new HashMap<>();
    Body body = Body.utf8("{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    final Attributes exchange = new Attributes();
    /** What the call can still ask APISIX (default: nothing, as in a replay). */
    io.inferencepam.runner.spi.ExtraInfo extraInfo = io.inferencepam.runner.spi.ExtraInfo.NONE;

    static Calls chat(String token) {
        Calls c = new Calls();
        if (token != null) {
            c.vars.put("http_authorization", "Bearer " + token);
        }
        c.vars.put("http_content_type", "application/json");
        return c;
    }

    Calls path(String p) {
        this.path = p;
        return this;
    }

    /** The target as the client sent it (APISIX's {@code real_request_uri}); default: the path. */
    Calls raw(String target) {
        this.rawUri = target;
        return this;
    }

    /** APISIX does not answer {@code real_request_uri}. */
    Calls noRawTarget() {
        this.noRawTarget = true;
        return this;
    }

    Calls body(String json) {
        this.body = Body.utf8(json);
        return this;
    }

    RequestDecision run(Plugin plugin) throws Exception {
        return start(plugin).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** The call's decision as the plugin returned it, complete or not. */
    java.util.concurrent.CompletionStage<RequestDecision> start(Plugin plugin) {
        // as APISIX 3.18 answers them: the raw target as real_request_uri, request_uri normalised
        if (!noRawTarget) {
            vars.putIfAbsent(CanonicalPath.RAW_TARGET_VAR, rawUri != null ? rawUri : path);
        }
        vars.putIfAbsent("request_uri", path);
        HttpRequest req = new HttpRequest(1, method, path, Headers.of(args),
                Headers.of("authorization", vars.getOrDefault("http_authorization", "")),
                "10.0.0.7", Vars.of(vars), Optional.ofNullable(body));
        Instant deadline = Instant.now().plusSeconds(30);
        CallContext ctx = new CallContext(new Attributes(), Optional.of(exchange),
                ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1), deadline,
                io.inferencepam.runner.spi.CallHold.fixed(deadline), extraInfo);
        return plugin.onRequest(req, ctx);
    }

    CallFacts facts() {
        return CallFacts.of(new CallContext(new Attributes(), Optional.of(exchange),
                ConfIdentity.fromKey("route#r1#ext-plugin-pre-req#1", "00", 1), Instant.now()));
    }
}
