package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * pam-approval on a call that matches no hold rule (goal: ≤ 2 µs of plugin CPU). The route has the
 * rules a real one would: sensitive models, a group that must not be missing, business hours (the
 * call is inside them) and a parameter threshold behind a model condition, so the 1 KiB chat body
 * is never parsed. Baseline in the same run: what the chain does for the call anyway (the call's
 * context and facts as pam-auth leaves them); {@code noHoldRule} adds pam-approval's
 * {@code onRequest}. The difference is the plugin's cost.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar ApprovalPassBench -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
public class ApprovalPassBench {
    private static final Principal BOB = new Principal("https://sso.example.com/realms/ai", "6f1c2a0e-8f7b-4c1e-9a55-1d2f3e4a5b6c",
            "bob", List.of("ml-engineers", "default-roles-ai", "offline_access"), "pam-cli");
    private ApprovalPlugin plugin;
    private HttpRequest request;
    private ConfIdentity conf;
    private Decision authDecision;

    @Setup
    public void setUp() throws Exception {
        String confJson = "{\"reviewer_groups\":[\"ml-reviewers\"],\"rules\":["
                + "{\"id\":\"frontier\",\"models\":[\"llama-3-405b*\",\"gpt-4*\",\"org/secret-*\"]},"
                + "{\"id\":\"no-ml-group\",\"principal_lacks_groups\":[\"ml-engineers\",\"ml-prod\"]},"
                + "{\"id\":\"hours\",\"outside_hours\":{\"timezone\":\"UTC\",\"from\":\"00:00\",\"to\":\"24:00\"}},"
                + "{\"id\":\"long-frontier\",\"models\":[\"llama-3-70b*\"],\"params_above\":{\"max_tokens\":4096}},"
                + "{\"id\":\"flagged\",\"flagged\":true}]}";
        ApprovalConf c = ApprovalConf.parse(new ObjectMapper().readTree(confJson));
        plugin = new ApprovalPlugin(c, () -> {
            throw new IllegalStateException("a call no rule holds must not touch the store");
        }, Runnable::run, Clock.systemUTC(), new ApprovalMetrics(new PrometheusMetrics()), new SecureRandom(), null, null, null, null, false);
        StringBuilder content = new StringBuilder();
        while (content.length() < 900) {
            content.append("Summarise the quarterly figures for the northern region. ");
        }
        byte[] body = ("{\"model\":\"llama-3-8b-instruct\",\"max_tokens\":512,\"messages\":[{\"role\":\"user\",\"content\":\""
                + content + "\"}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        request = new HttpRequest(1, "POST", "/v1/chat/completions", Headers.empty(),
                Headers.of("content-type", "application/json", "user-agent", "OpenAI/Python 1.54.0"), "10.0.0.7",
                Vars.of(Map.of("request_id", "0123456789abcdef0123456789abcdef")), Optional.of(Body.wrap(body)));
        conf = ConfIdentity.fromKey("route#frontier#ext-plugin-pre-req#3", "ab12", 7);
        authDecision = new Decision("pam-auth", "ml-all", Decision.Outcome.ALLOW, "entitled to model");
    }

    private CallContext call() {
        CallContext ctx = new CallContext(new Attributes(), Optional.of(new Attributes()), conf, Instant.EPOCH);
        CallFacts facts = CallFacts.of(ctx);
        facts.principal(BOB);
        facts.model("llama-3-8b-instruct");
        facts.decide(authDecision);
        return ctx;
    }

    @Benchmark
    public CallContext baseline() {
        return call();
    }

    @Benchmark
    public CompletionStage<RequestDecision> noHoldRule() {
        return plugin.onRequest(request, call());
    }
}
