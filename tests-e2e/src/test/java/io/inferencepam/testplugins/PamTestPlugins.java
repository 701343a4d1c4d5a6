package io.inferencepam.testplugins;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test stand-ins for the PAM plugins that feed pam-record through {@link CallFacts} (the real
 * pam-auth/approval/mask live on other branches): they write the same facts the real ones do.
 */
public final class PamTestPlugins implements PluginProvider {
    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        return List.of(new Auth(), new Hold(), new Mask(), new Guard());
    }

    /**
     * {@code test-pam-auth}: needs {@code Authorization: Bearer …} (else 401); sets principal, model
     * (from the JSON body), credential; injects {@code upstream_secret} as the upstream credential.
     * Conf: {@code {"subject","username","groups":[],"client_id","credential","credential_version",
     * "upstream_secret","deny_models":[]}}.
     */
    static final class Auth implements PluginFactory {
        public String name() {
            return "test-pam-auth";
        }

        public String confSchema() {
            return "{\"type\":\"object\"}";
        }

        public Set<Phase> phases() {
            return Set.of(Phase.REQUEST);
        }

        public Plugin create(JsonNode conf) {
            List<String> groups = new ArrayList<>();
            conf.path("groups").forEach(g -> groups.add(g.asText()));
            Set<String> deny = new java.util.HashSet<>();
            conf.path("deny_models").forEach(m -> deny.add(m.asText()));
            String secret = conf.path("upstream_secret").asText("sk-upstream-default-secret");
            return new Plugin() {
                @Override
                public Requirements requirements(Phase phase) {
                    return Requirements.vars("http_authorization").withRequestBody();
                }

                @Override
                public boolean correlatesPhases() {
                    return true;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    CallFacts facts = CallFacts.of(context);
                    String auth = request.var("http_authorization").orElse("");
                    if (!auth.startsWith("Bearer ")) {
                        facts.decide(new Decision("test-pam-auth", "token-required", Decision.Outcome.DENY, "no bearer token"));
                        return RequestDecision.stop(Stop.openAiError(401, "authentication_error", "invalid_token", "no token"));
                    }
                    facts.principal(new Principal("https://idp.test", conf.path("subject").asText("sub-1"),
                            conf.path("username").asText("alice"), groups, conf.path("client_id").asText("cli")));
                    String model = null;
                    try {
                        model = SimpleFactories.JSON.readTree(request.body().orElse(Body.empty()).utf8()).path("model").asText(null);
                    } catch (Exception notJson) {
                        // no model
                    }
                    if (model != null) {
                        facts.model(model);
                    }
                    if (model != null && deny.contains(model)) {
                        facts.decide(new Decision("test-pam-auth", "model-not-entitled", Decision.Outcome.DENY, "model not entitled"));
                        return RequestDecision.stop(Stop.openAiError(403, "permission_error", "model_not_allowed", "no"));
                    }
                    facts.decide(new Decision("test-pam-auth", "entitled", Decision.Outcome.ALLOW, "group entitled"));
                    facts.credential(conf.path("credential").asText("vllm-prod"), conf.path("credential_version").asText("v3"));
                    return RequestDecision.proceed(RequestRewrite.builder()
                            .setHeader("authorization", "Bearer " + secret).setHeader("x-api-key", secret).build());
                }
            };
        }
    }

    /** {@code test-pam-hold}: parks every call: 202 with an approval handle. Conf: {@code {"approval_id","reviewers":[]}}. */
    static final class Hold implements PluginFactory {
        public String name() {
            return "test-pam-hold";
        }

        public String confSchema() {
            return "{\"type\":\"object\"}";
        }

        public Plugin create(JsonNode conf) {
            String id = conf.path("approval_id").asText("apr-1");
            List<String> reviewers = new ArrayList<>();
            conf.path("reviewers").forEach(r -> reviewers.add(r.asText()));
            return new Plugin() {
                @Override
                public boolean correlatesPhases() {
                    return true;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    CallFacts f = CallFacts.of(context);
                    f.approval(id, reviewers);
                    f.decide(new Decision("test-pam-hold", "high-risk", Decision.Outcome.HOLD, "needs approval"));
                    return RequestDecision.stop(new Stop(202, io.inferencepam.runner.spi.Headers.of("content-type", "application/json"),
                            Body.utf8("{\"approval\":{\"id\":\"" + id + "\",\"status\":\"pending\"}}")));
                }
            };
        }
    }

    /** {@code test-pam-mask}: replaces e-mail addresses with [EMAIL] in the response and counts them. */
    static final class Mask implements PluginFactory {
        private static final Pattern EMAIL = Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}");

        public String name() {
            return "test-pam-mask";
        }

        public String confSchema() {
            return "{\"type\":\"object\"}";
        }

        public Set<Phase> phases() {
            return Set.of(Phase.RESPONSE);
        }

        public Plugin create(JsonNode conf) {
            return new Plugin() {
                @Override
                public Requirements requirements(Phase phase) {
                    return Requirements.NONE.withResponseBody();
                }

                @Override
                public boolean correlatesPhases() {
                    return true;
                }

                @Override
                public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                    String text = response.body().orElse(Body.empty()).utf8();
                    Matcher m = EMAIL.matcher(text);
                    int n = 0;
                    StringBuilder sb = new StringBuilder();
                    while (m.find()) {
                        n++;
                        m.appendReplacement(sb, "[EMAIL]");
                    }
                    m.appendTail(sb);
                    if (n == 0) {
                        return ResponseChange.unchanged();
                    }
                    CallFacts.of(context).masked("email", n);
                    CallFacts.of(context).decide(new Decision("test-pam-mask", "email", Decision.Outcome.MASK, n + " e-mail address(es)"));
                    return CompletableFuture.completedFuture(ResponseChange.body(Body.utf8(sb.toString())));
                }
            };
        }
    }

    /**
     * {@code test-pam-guard}: a policy on the model in the call facts (set by pam-auth, or by policy
     * replay from the record). Conf: {@code {"deny_models":[],"hold_models":[]}}.
     */
    static final class Guard implements PluginFactory {
        public String name() {
            return "test-pam-guard";
        }

        public String confSchema() {
            return "{\"type\":\"object\"}";
        }

        public Set<Phase> phases() {
            return Set.of(Phase.REQUEST);
        }

        public Plugin create(JsonNode conf) {
            Set<String> deny = new java.util.HashSet<>();
            conf.path("deny_models").forEach(m -> deny.add(m.asText()));
            Set<String> hold = new java.util.HashSet<>();
            conf.path("hold_models").forEach(m -> hold.add(m.asText()));
            return new Plugin() {
                @Override
                public boolean correlatesPhases() {
                    return true;
                }

                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    String model = CallFacts.of(context).model().orElse("");
                    if (deny.contains(model)) {
                        return RequestDecision.stop(Stop.openAiError(403, "permission_error", "model_blocked", "blocked"));
                    }
                    if (hold.contains(model)) {
                        return RequestDecision.stop(new Stop(202, io.inferencepam.runner.spi.Headers.empty(), Body.utf8("{}")));
                    }
                    return RequestDecision.proceed();
                }
            };
        }
    }
}
