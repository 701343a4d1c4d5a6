package io.inferencepam.testplugins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code conformance}: the test-only counterpart of the scripted runner that made the recordings.
 * Its conf value is the raw scenario id (as APISIX sent it, e.g. {@code R5}); it loads that
 * recording's {@code runner_script} from {@code PAM_CONFORMANCE_DIR} and follows it through the
 * plugin SPI. What the SPI cannot express on purpose is documented in
 * {@code RunnerConformanceTest}: the runtime asks for vars before bodies and always pipelines;
 * {@code error} becomes a plugin failure (Stop 503 / safe 503, never RPC_ERROR);
 * {@code reply_type}/{@code close} cannot be produced by a plugin; a Stop needs a real status; a
 * Rewrite path may not contain {@code ?}.
 */
final class ConformancePlugin {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConformancePlugin() {
    }

    static final class Factory implements PluginFactory {
        public String name() {
            return "conformance";
        }

        public String confSchema() {
            return "{\"type\":\"string\",\"pattern\":\"^[A-Z][0-9]+[a-z]?$\"}";
        }

        @Override
        public boolean rawTextConf() {
            return true;
        }

        public Plugin create(JsonNode conf) throws InvalidConfException {
            String id = conf.asText();
            JsonNode script = load(id);
            return new Scripted(script.path("req"), script.path("resp"));
        }

        private static JsonNode load(String id) throws InvalidConfException {
            String dir = Optional.ofNullable(System.getenv("PAM_CONFORMANCE_DIR")).orElse(System.getProperty("PAM_CONFORMANCE_DIR"));
            if (dir == null) {
                throw new InvalidConfException("", "PAM_CONFORMANCE_DIR is not set");
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of(dir), id + "-*.json")) {
                for (Path f : files) {
                    return JSON.readTree(f.toFile()).path("runner_script");
                }
            } catch (IOException e) {
                throw new InvalidConfException("", "recording unreadable");
            }
            throw new InvalidConfException("", "no recording for this scenario");
        }
    }

    /** Follows one scenario's script. */
    static final class Scripted implements Plugin {
        private final JsonNode req;
        private final JsonNode resp;

        Scripted(JsonNode req, JsonNode resp) {
            this.req = req;
            this.resp = resp;
        }

        @Override
        public Requirements requirements(Phase phase) {
            JsonNode s = phase == Phase.REQUEST ? req : resp;
            Set<String> vars = new LinkedHashSet<>();
            boolean reqBody = false;
            boolean respBody = false;
            for (JsonNode q : s.path("extra")) {
                if (q.has("var")) {
                    vars.add(q.get("var").asText());
                }
                reqBody |= q.path("req_body").asBoolean(false);
                respBody |= q.path("resp_body").asBoolean(false);
            }
            return new Requirements(vars, reqBody, respBody);
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            if (req.has("error")) {
                return CompletableFuture.failedFuture(new IllegalStateException("scripted error"));
            }
            String action = req.path("action").asText("none");
            switch (action) {
                case "stop": {
                    List<Header> h = new ArrayList<>();
                    for (JsonNode e : req.path("headers")) {
                        h.add(new Header(e.get(0).asText(), e.get(1).isNull() ? null : e.get(1).asText()));
                    }
                    int status = req.path("status").asInt(0);
                    // The SPI has no status 0 (APISIX's "0 → 200", R4): use 200 explicitly.
                    return RequestDecision.stop(new Stop(status == 0 ? 200 : status, Headers.of(h),
                            Body.utf8(req.path("body").asText(""))));
                }
                case "rewrite": {
                    RequestRewrite.Builder b = RequestRewrite.builder();
                    if (req.has("path")) {
                        // The SPI refuses '?' in a path (APISIX would encode it, R5/R5b): keep the part before it.
                        String p = req.get("path").asText();
                        int q = p.indexOf('?');
                        b.path(q < 0 ? p : p.substring(0, q));
                    }
                    for (JsonNode e : req.path("headers")) {
                        if (e.get(1).isNull()) {
                            b.removeHeader(e.get(0).asText());
                        } else {
                            b.setHeader(e.get(0).asText(), e.get(1).asText());
                        }
                    }
                    Map<String, List<String>> args = new LinkedHashMap<>();
                    for (JsonNode e : req.path("args")) {
                        List<String> values = args.computeIfAbsent(e.get(0).asText(), k -> new ArrayList<>());
                        if (!e.get(1).isNull()) {
                            values.add(e.get(1).asText());
                        }
                    }
                    args.forEach((k, v) -> {
                        if (v.isEmpty()) {
                            b.removeArg(k);
                        } else {
                            b.setArg(k, v.toArray(String[]::new));
                        }
                    });
                    for (JsonNode e : req.path("resp_headers")) {
                        b.addResponseHeader(e.get(0).asText(), e.get(1).asText());
                    }
                    if (req.has("body")) {
                        b.body(Body.utf8(req.get("body").asText()));
                    }
                    return RequestDecision.proceed(b.build());
                }
                default:
                    return RequestDecision.proceed();
            }
        }

        @Override
        public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
            if (resp.has("error")) {
                return CompletableFuture.failedFuture(new IllegalStateException("scripted error"));
            }
            OptionalInt status = resp.has("status") ? OptionalInt.of(resp.get("status").asInt()) : OptionalInt.empty();
            Map<String, String> h = new LinkedHashMap<>();
            for (JsonNode e : resp.path("headers")) {
                // a ResponseChange header map holds one value per name: repeated names keep the last
                h.put(e.get(0).asText(), e.get(1).isNull() ? null : e.get(1).asText());
            }
            Optional<Body> body = resp.has("body") ? Optional.of(Body.utf8(resp.get("body").asText())) : Optional.empty();
            return CompletableFuture.completedFuture(new ResponseChange(status, h, body));
        }
    }
}
