package io.inferencepam.testplugins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Small single-purpose test plugins. Conf schemas are strict so that invalid confs can be tested. */
final class SimpleFactories {
    static final ObjectMapper JSON = new ObjectMapper();

    private SimpleFactories() {
    }

    /** {@code test-noop}: proceeds unchanged. Conf: {@code {}} (no other property allowed). */
    static final class Noop implements PluginFactory {
        public String name() {
            return "test-noop";
        }

        public String confSchema() {
            return "{\"type\":\"object\",\"additionalProperties\":false}";
        }

        public Plugin create(JsonNode conf) {
            return new Plugin() {
            };
        }
    }

    /**
     * {@code test-stop}: answers a Stop. Conf: {@code {"status": 403, "headers": {"n": "v"}, "body": "text",
     * "secret": "..."}} — {@code secret} exists only so tests can check the runner never logs conf values.
     */
    static final class StopFactory implements PluginFactory {
        public String name() {
            return "test-stop";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,"required":["status"],
                     "properties":{"status":{"type":"integer","minimum":100,"maximum":599},
                       "headers":{"type":"object","additionalProperties":{"type":"string"}},
                       "body":{"type":"string"},"secret":{"type":"string","minLength":8}}}""";
        }

        public Plugin create(JsonNode conf) {
            List<Header> h = new ArrayList<>();
            conf.path("headers").fields().forEachRemaining(e -> h.add(new Header(e.getKey(), e.getValue().asText())));
            Stop stop = new Stop(conf.get("status").asInt(), Headers.of(h), Body.utf8(conf.path("body").asText("")));
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return RequestDecision.stop(stop);
                }
            };
        }
    }

    /**
     * {@code test-rewrite}: a Rewrite. Conf: {@code {"path", "headers": {"n": "v"|null}, "args": {"n": ["v"…]},
     * "resp_headers": {"n": "v"}, "body": "text", "body_base64": "…"}}.
     */
    static final class RewriteFactory implements PluginFactory {
        public String name() {
            return "test-rewrite";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,
                     "properties":{"path":{"type":"string"},
                       "headers":{"type":"object","additionalProperties":{"type":["string","null"]}},
                       "args":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}}},
                       "resp_headers":{"type":"object","additionalProperties":{"type":"string"}},
                       "body":{"type":"string"},"body_base64":{"type":"string"}}}""";
        }

        public Plugin create(JsonNode conf) {
            RequestRewrite.Builder b = RequestRewrite.builder();
            if (conf.has("path")) {
                b.path(conf.get("path").asText());
            }
            conf.path("headers").fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    b.removeHeader(e.getKey());
                } else {
                    b.setHeader(e.getKey(), e.getValue().asText());
                }
            });
            conf.path("args").fields().forEachRemaining(e -> {
                List<String> values = new ArrayList<>();
                e.getValue().forEach(v -> values.add(v.asText()));
                if (values.isEmpty()) {
                    b.removeArg(e.getKey());
                } else {
                    b.setArg(e.getKey(), values.toArray(String[]::new));
                }
            });
            conf.path("resp_headers").fields().forEachRemaining(e -> b.addResponseHeader(e.getKey(), e.getValue().asText()));
            if (conf.has("body")) {
                b.body(Body.utf8(conf.get("body").asText()));
            }
            if (conf.has("body_base64")) {
                b.body(Body.wrap(Base64.getDecoder().decode(conf.get("body_base64").asText())));
            }
            RequestRewrite rw = b.build();
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return RequestDecision.proceed(rw);
                }
            };
        }
    }

    /**
     * {@code test-inspect}: reports what the runner saw, as JSON. Request phase: a Stop 200 whose
     * body describes the request; response phase: the response body replaced by a description of
     * the response. Conf: {@code {"vars": [..], "request_body": bool, "response_body": bool,
     * "proceed": bool, "later_vars": [..], "later_body": bool}} ({@code proceed}: put the description in
     * header {@code x-inspect} and go on; {@code later_*}: asked through {@code CallContext.fetch} once
     * the plugin runs, not declared).
     */
    static final class Inspect implements PluginFactory {
        private final String name;

        Inspect() {
            this("test-inspect");
        }

        /** A second name, for routes that need two inspecting plugins (a name is listed once per conf). */
        Inspect(String name) {
            this.name = name;
        }

        public String name() {
            return name;
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,
                     "properties":{"vars":{"type":"array","items":{"type":"string"}},
                       "request_body":{"type":"boolean"},"response_body":{"type":"boolean"},
                       "proceed":{"type":"boolean"},"later_vars":{"type":"array","items":{"type":"string"}},
                       "later_body":{"type":"boolean"}}}""";
        }

        public Plugin create(JsonNode conf) {
            Set<String> vars = new LinkedHashSet<>();
            conf.path("vars").forEach(v -> vars.add(v.asText()));
            Set<String> laterVars = new LinkedHashSet<>();
            conf.path("later_vars").forEach(v -> laterVars.add(v.asText()));
            Requirements later = new Requirements(laterVars, conf.path("later_body").asBoolean(false), false);
            boolean reqBody = conf.path("request_body").asBoolean(false);
            boolean respBody = conf.path("response_body").asBoolean(false);
            boolean proceed = conf.path("proceed").asBoolean(false);
            return new Plugin() {
                @Override
                public Requirements requirements(Phase phase) {
                    Requirements r = new Requirements(vars, false, false);
                    if (phase == Phase.REQUEST && reqBody) {
                        r = r.withRequestBody();
                    }
                    if (phase == Phase.RESPONSE && respBody) {
                        r = r.withResponseBody();
                    }
                    return r;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest received, CallContext context) {
                    return context.fetch(received, later).thenCompose(this::describe);
                }

                private CompletionStage<RequestDecision> describe(HttpRequest request) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("method", request.method());
                    o.put("path", request.path());
                    o.put("source_ip", request.sourceIp());
                    o.set("args", entries(request.args()));
                    o.set("headers", entries(request.headers()));
                    o.set("vars", varsNode(request.vars().asMap()));
                    request.body().ifPresent(b -> o.put("body_base64", Base64.getEncoder().encodeToString(b.toByteArray())));
                    if (proceed) {
                        return RequestDecision.proceed(RequestRewrite.builder().setHeader("x-inspect", o.toString()).build());
                    }
                    return RequestDecision.stop(new Stop(200, Headers.of("content-type", "application/json"), Body.utf8(o.toString())));
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("status", response.status());
                    o.set("headers", entries(response.headers()));
                    o.set("vars", varsNode(response.vars().asMap()));
                    response.body().ifPresent(b -> o.put("body_base64", Base64.getEncoder().encodeToString(b.toByteArray())));
                    Map<String, String> h = new LinkedHashMap<>();
                    h.put("Content-Type", "application/json");
                    return CompletableFuture.completedFuture(
                            new ResponseChange(OptionalInt.empty(), h, Optional.of(Body.utf8(o.toString()))));
                }
            };
        }
    }

    static ArrayNode entries(Headers headers) {
        ArrayNode a = JSON.createArrayNode();
        for (Header h : headers.entries()) {
            ArrayNode e = a.addArray().add(h.name());
            if (h.value() == null) {
                e.addNull();
            } else {
                e.add(h.value());
            }
        }
        return a;
    }

    static ObjectNode varsNode(Map<String, String> vars) {
        ObjectNode o = JSON.createObjectNode();
        vars.forEach(o::put);
        return o;
    }

    /**
     * {@code test-large-body}: replaces the body with {@code bytes} bytes of {@code x}: the response
     * body in the response phase, the request body (a Rewrite) in the request phase. Conf:
     * {@code {"bytes": 16777215}}. Stands in for a masked body that grew, or a decoded gzip body.
     */
    static final class LargeBody implements PluginFactory {
        public String name() {
            return "test-large-body";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,"required":["bytes"],
                     "properties":{"bytes":{"type":"integer","minimum":0,"maximum":33554432}}}""";
        }

        public Plugin create(JsonNode conf) {
            int bytes = conf.get("bytes").asInt();
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return RequestDecision.proceed(RequestRewrite.builder().body(body(bytes)).build());
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    return CompletableFuture.completedFuture(ResponseChange.body(body(bytes)));
                }
            };
        }

        private static Body body(int bytes) {
            byte[] b = new byte[bytes];
            java.util.Arrays.fill(b, (byte) 'x');
            return Body.wrap(b);
        }
    }

    /** {@code test-throw}: throws (conf {@code {"phase": "request"|"response", "stage": bool}}; stage = failed stage instead of a throw). */
    static final class Throw implements PluginFactory {
        public String name() {
            return "test-throw";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,
                     "properties":{"phase":{"enum":["request","response"]},"stage":{"type":"boolean"}}}""";
        }

        public Plugin create(JsonNode conf) {
            boolean stage = conf.path("stage").asBoolean(false);
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return fail(stage);
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    return fail(stage);
                }
            };
        }

        private static <T> CompletionStage<T> fail(boolean stage) {
            IllegalStateException e = new IllegalStateException("test-throw: secret-in-exception-message");
            if (stage) {
                return CompletableFuture.failedFuture(e);
            }
            throw e;
        }
    }

    /** {@code test-slow}: sleeps {@code millis} on the runtime's blocking executor, then proceeds with header {@code x-slept}. */
    static final class Slow implements PluginFactory {
        private final PluginEnvironment env;

        Slow(PluginEnvironment env) {
            this.env = env;
        }

        public String name() {
            return "test-slow";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,"required":["millis"],
                     "properties":{"millis":{"type":"integer","minimum":0,"maximum":60000}}}""";
        }

        public Plugin create(JsonNode conf) {
            long millis = conf.get("millis").asLong();
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return CompletableFuture.supplyAsync(() -> {
                        try {
                            Thread.sleep(millis);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return (RequestDecision) new RequestDecision.Proceed(
                                RequestRewrite.builder().setHeader("x-slept", Long.toString(millis)).build());
                    }, env.blockingExecutor());
                }
            };
        }
    }

    /** {@code test-never}: returns a stage that never completes (the runtime's deadline must answer). */
    static final class Never implements PluginFactory {
        public String name() {
            return "test-never";
        }

        public String confSchema() {
            return "{\"type\":\"object\",\"additionalProperties\":false}";
        }

        public Plugin create(JsonNode conf) {
            return new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return new CompletableFuture<>();
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    return new CompletableFuture<>();
                }
            };
        }
    }

    /**
     * {@code test-respond}: response phase change. Conf: {@code {"status": 201, "headers": {"n": "v"|null},
     * "body": "text", "response_body": bool}}.
     */
    static final class RespondFactory implements PluginFactory {
        public String name() {
            return "test-respond";
        }

        public String confSchema() {
            return """
                    {"type":"object","additionalProperties":false,
                     "properties":{"status":{"type":"integer"},
                       "headers":{"type":"object","additionalProperties":{"type":["string","null"]}},
                       "body":{"type":"string"},"response_body":{"type":"boolean"}}}""";
        }

        public Set<Phase> phases() {
            return Set.of(Phase.RESPONSE);
        }

        public Plugin create(JsonNode conf) {
            OptionalInt status = conf.has("status") ? OptionalInt.of(conf.get("status").asInt()) : OptionalInt.empty();
            Map<String, String> h = new LinkedHashMap<>();
            conf.path("headers").fields().forEachRemaining(e -> h.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText()));
            Optional<Body> body = conf.has("body") ? Optional.of(Body.utf8(conf.get("body").asText())) : Optional.empty();
            boolean respBody = conf.path("response_body").asBoolean(false);
            ResponseChange change = new ResponseChange(status, h, body);
            return new Plugin() {
                @Override
                public Requirements requirements(Phase phase) {
                    return respBody ? Requirements.NONE.withResponseBody() : Requirements.NONE;
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    return CompletableFuture.completedFuture(change);
                }
            };
        }
    }

    /**
     * {@code test-correlate}: request phase remembers the path in the exchange shared with the
     * response phase of the same HTTP call (nginx {@code request_id}); the response phase reports it
     * in header {@code x-correlated} ("none" if nothing was shared).
     */
    static final class Correlate implements PluginFactory {
        static final io.inferencepam.runner.spi.Attributes.Key<String> PATH =
                io.inferencepam.runner.spi.Attributes.Key.of("test-correlate.path", String.class);

        public String name() {
            return "test-correlate";
        }

        public String confSchema() {
            return "{\"type\":\"object\",\"additionalProperties\":false}";
        }

        public Plugin create(JsonNode conf) {
            return new Plugin() {
                @Override
                public boolean correlatesPhases() {
                    return true;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    context.exchange().ifPresent(x -> x.put(PATH, request.path()));
                    return RequestDecision.proceed();
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    String seen = context.exchange().flatMap(x -> x.get(PATH)).orElse("none");
                    return CompletableFuture.completedFuture(ResponseChange.NONE.withHeader("x-correlated", seen));
                }
            };
        }
    }
}
