package io.inferencepam.pam.record;

import io.inferencepam.bench.runner.ClientFrames;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.UnlinkedEntry;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseOutcome;
import io.inferencepam.runner.spi.Vars;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import io.inferencepam.pam.record.spool.AuditWriter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What pam-record costs per call outside the protocol: the plugin-thread part (the phase hooks and
 * {@link PendingCall#end}), building the record, and the writer's part (canonical UTF-8 and the
 * hash-chain link), for the call {@code AuditLatencyBench} sends (1 KiB chat request and
 * completion, a bearer token, an authenticated principal and two decisions). The baseline in the
 * same run is one SHA-256 over both bodies: the least any tamper-evident record of them costs.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar RecordBuildBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RecordBuildBenchmark {
    @Param({"1024"})
    public int body;

    private HttpRequest request;
    private HttpResponse response;
    private RecordConf conf;
    private ConfIdentity identity;
    private CallFacts facts;
    private HashChain chain;
    private byte[] both;
    private long id;

    @Setup
    public void setUp() {
        byte[] req = ClientFrames.chatBody(body);
        StringBuilder sb = new StringBuilder("{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"");
        while (sb.length() < body - 5) {
            sb.append("All work and no play. ");
        }
        sb.setLength(body - 5);
        byte[] resp = sb.append("\"}}]}").toString().getBytes(StandardCharsets.UTF_8);
        both = new byte[req.length + resp.length];
        System.arraycopy(req, 0, both, 0, req.length);
        System.arraycopy(resp, 0, both, req.length, resp.length);
        request = new HttpRequest(1, "POST", "/v1/chat/completions", Headers.of(),
                Headers.of("host", "gw.example", "content-type", "application/json", "authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-abcdefgh",
                        "user-agent", "bench/1.0", "accept", "*/*", "content-length", Integer.toString(req.length)),
                "10.0.0.7", Vars.of(Map.of("request_id", "r", "remote_addr", "10.0.0.7", "http_user_agent", "bench/1.0",
                        "http_authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-abcdefgh")), Optional.of(Body.wrap(req)));
        response = new HttpResponse(2, 200, Headers.of("content-type", "application/json", "content-length", Integer.toString(resp.length)),
                Vars.of(Map.of("request_id", "r")), Optional.of(Body.wrap(resp)));
        conf = RecordConf.from(CanonicalJson.MAPPER.createObjectNode());
        identity = new ConfIdentity("route#1", "chat", "ext-plugin-pre-req", "0".repeat(64), 1);
        facts = new CallFacts();
        facts.principal(new Principal("https://idp.example/realms/ai", "u-123", "alice", List.of("ml-eng"), "notebook"));
        facts.model("llama-3.1-8b");
        facts.decide(new Decision("pam-auth", "token", Decision.Outcome.ALLOW, "valid token"));
        facts.decide(new Decision("pam-guard", "models", Decision.Outcome.ALLOW, "model allowed"));
        chain = new HashChain("bench");
    }

    /** Baseline: SHA-256 of the two bodies. */
    @Benchmark
    public byte[] sha256OfBodies() throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(both);
    }

    /** The plugin-thread part while the writer keeps up: both phases' hooks and ending the call. */
    @Benchmark
    public AuditWriter.Record end() {
        PendingCall c = new PendingCall("r-" + id++, 0, 0);
        c.request(request, conf, identity, facts);
        c.requestOutcome(new RequestOutcome(RequestOutcome.Kind.PASS, request, request, RequestRewrite.NONE,
                Optional.empty(), Optional.empty()), facts);
        c.responseOutcome(new ResponseOutcome(ResponseOutcome.Kind.PASS, response, response), conf, identity, facts);
        return c.end(1, 1000).orElseThrow();
    }

    /** {@link #end}, then writing the record in canonical form (on the writer thread, or on the caller when the writer is behind). */
    @Benchmark
    public UnlinkedEntry build() {
        return end().unlinked();
    }

    /** Both parts: the record written, then linked into the chain (what the writer sends). */
    @Benchmark
    public byte[] buildAndLink() {
        return chain.linkAndEncode(build());
    }

    /** The calls as pam-record handles them since issue 10: {@link #end} plus the admitted entry taken before the pass reply. */
    private AuditWriter.Record[] endAdmittedCall() {
        PendingCall c = new PendingCall("r-" + id++, 0, 0);
        c.request(request, conf, identity, facts);
        RequestOutcome pass = new RequestOutcome(RequestOutcome.Kind.PASS, request, request, RequestRewrite.NONE,
                Optional.empty(), Optional.empty());
        Admission a = c.admission(pass, facts, 0);
        c.admitted(a);
        c.requestOutcome(pass, facts);
        c.responseOutcome(new ResponseOutcome(ResponseOutcome.Kind.PASS, response, response), conf, identity, facts);
        return new AuditWriter.Record[] {a, c.end(1, 1000).orElseThrow()};
    }

    /** {@link #end} with the admitted entry: the plugin-thread part per call now. */
    @Benchmark
    public AuditWriter.Record[] endAdmitted() {
        return endAdmittedCall();
    }

    /** {@link #buildAndLink} with the admitted entry: both entries built and linked (the admitted one first, as the writer takes them). */
    @Benchmark
    public byte[] buildAndLinkAdmitted() {
        AuditWriter.Record[] r = endAdmittedCall();
        chain.linkAndEncode(r[0].unlinked());
        return chain.linkAndEncode(r[1].unlinked());
    }
}
