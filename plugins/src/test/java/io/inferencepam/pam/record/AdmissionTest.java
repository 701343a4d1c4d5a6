package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.HashChain;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The admitted entry of a call, its link from the final record, and what a pending call holds in memory. */
class AdmissionTest {
    static final String TOKEN = "Bearer eyJhbGciOiJSUzI1NiJ9.client-token.sig";
    static final String INJECTED = "sk-upstream-injected-123456";
    static final ConfIdentity IDENTITY = new ConfIdentity("route#chat#ext-plugin-pre-req#1", "chat", "ext-plugin-pre-req",
            "a".repeat(64), 1);

    static RecordConf conf(String json) throws Exception {
        return RecordConf.from(CanonicalJson.parse(json));
    }

    static HttpRequest request(byte[] body) {
        return new HttpRequest(1, "POST", "/v1/chat/completions", Headers.of(),
                Headers.of("authorization", TOKEN, "content-type", "application/json"), "10.0.0.7",
                Vars.of(Map.of("request_id", "req-1", "http_authorization", TOKEN)), Optional.of(Body.wrap(body)));
    }

    static CallFacts facts() {
        CallFacts f = new CallFacts();
        f.principal(new Principal("https://idp.example/realms/ai", "sub-alice", "alice", List.of("ml"), "notebook"));
        f.model("llama-3-70b");
        return f;
    }

    static RequestOutcome pass(HttpRequest received) {
        RequestRewrite rw = RequestRewrite.builder().setHeader("authorization", "Bearer " + INJECTED).build();
        return new RequestOutcome(RequestOutcome.Kind.REWRITE, received, received.apply(rw), rw, Optional.empty(), Optional.empty());
    }

    static ObjectNode finish(PendingCall call, RecordConf c, CallFacts f, RequestOutcome outcome) {
        call.requestOutcome(outcome, f);
        HttpResponse resp = new HttpResponse(2, 200, Headers.of("content-type", "application/json"),
                Vars.of(Map.of("request_id", "req-1")), Optional.of(Body.utf8("{\"ok\":true}")));
        call.responseOutcome(new ResponseOutcome(ResponseOutcome.Kind.PASS, resp, resp), c, IDENTITY, f);
        return call.end(10, 10_000).orElseThrow().build();
    }

    @Test
    void theFinalRecordNamesTheAdmittedEntryWhichHoldsWhoWhichModelAndTheRequestHash() throws Exception {
        byte[] body = "{\"model\":\"llama-3-70b\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
        RecordConf c = conf("{}");
        CallFacts f = facts();
        PendingCall call = new PendingCall("req-1", 1, 1);
        HttpRequest received = request(body);
        call.request(received, c, IDENTITY, f);
        RequestOutcome outcome = pass(received);
        Admission a = call.admission(outcome, f, 5);
        call.admitted(a);
        ObjectNode admitted = a.build();

        assertThat(admitted.path("kind").asText()).isEqualTo("admitted");
        assertThat(admitted.path("id").asText()).isEqualTo("req-1");
        assertThat(admitted.path("admission").asText()).matches("[0-9a-f]{32}");
        assertThat(admitted.path("principal").path("subject").asText()).isEqualTo("sub-alice");
        assertThat(admitted.path("model").asText()).isEqualTo("llama-3-70b");
        assertThat(admitted.path("route_id").asText()).isEqualTo("chat");
        assertThat(admitted.path("request_outcome").asText()).isEqualTo("rewrite");
        assertThat(admitted.path("request").path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex(body));
        assertThat(admitted.path("request").path("size").asInt()).isEqualTo(body.length);
        String json = CanonicalJson.write(admitted);
        assertThat(json).doesNotContain("messages").doesNotContain("client-token").doesNotContain(INJECTED);

        ObjectNode fin = finish(call, c, f, outcome);
        assertThat(fin.path("kind").asText()).isEqualTo("call");
        assertThat(fin.path("admission").asText()).isEqualTo(admitted.path("admission").asText());
        assertThat(fin.path("request").path("body_sha256").asText()).isEqualTo(admitted.path("request").path("body_sha256").asText());
        assertThat(fin.path("request").path("body").asText()).isEqualTo(new String(body, StandardCharsets.UTF_8));
    }

    @Test
    void aCallWhoseAdmittedEntryTheWriterDidNotTakeLinksToNone() throws Exception {
        RecordConf c = conf("{}");
        CallFacts f = facts();
        PendingCall call = new PendingCall("req-1", 1, 1);
        HttpRequest received = request("{}".getBytes(StandardCharsets.UTF_8));
        call.request(received, c, IDENTITY, f);
        assertThat(call.admission(pass(received), f, 5)).isNotNull(); // built, but never admitted(): lost or refused
        JsonNode fin = finish(call, c, f, pass(received));
        assertThat(fin.has("admission")).isTrue();
        assertThat(fin.path("admission").isNull()).isTrue();
    }

    /**
     * Review finding: a call whose record was already written by the sweep (its request phase took
     * longer than response_timeout_ms, or 200 000 pending calls forced a sweep of those older than a
     * second) was let through with no admitted entry at all, even on a fail_closed route
     * (beforeUpstream passed when admission() answered null). It still reaches the upstream, so it
     * still gets its admitted entry; the final record, already written, cannot name it.
     */
    @Test
    void aCallSweptBeforeItPassedStillGetsItsAdmittedEntry() throws Exception {
        RecordConf c = conf("{}");
        PendingCall call = new PendingCall("req-1", 1, 1);
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        HttpRequest received = request(body);
        call.request(received, c, IDENTITY, facts());
        call.end(2, 2); // the sweep wrote its record (response.seen=false) while the request phase still ran
        Admission a = call.admission(pass(received), facts(), 5);
        assertThat(a).as("admitted entry of a call that passes after the sweep").isNotNull();
        call.admitted(a);
        ObjectNode admitted = a.build();
        assertThat(admitted.path("kind").asText()).isEqualTo("admitted");
        assertThat(admitted.path("principal").path("subject").asText()).isEqualTo("sub-alice");
        assertThat(admitted.path("request").path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex(body));
        assertThat(CanonicalJson.write(admitted)).doesNotContain("client-token").doesNotContain(INJECTED);
    }

    @Test
    void onceAdmittedACallHoldsAtMostMaxBodyBytesOfItsRequestAndTheRecordKeepsHashAndLength() throws Exception {
        byte[] body = new byte[100_000];
        Arrays.fill(body, (byte) 'x');
        RecordConf c = conf("{\"max_body_bytes\":1024}");
        CallFacts f = facts();
        PendingCall call = new PendingCall("req-1", 1, 1);
        HttpRequest received = request(body);
        call.request(received, c, IDENTITY, f);
        Admission a = call.admission(pass(received), f, 5);
        call.admitted(a);
        ObjectNode admitted = a.build(); // on the writer thread, moments after the pass reply
        assertThat(CanonicalJson.write(admitted).length()).as("the admitted entry does not grow with the body").isLessThan(1024);
        assertThat(call.heldRequestBytes()).isEqualTo(1024);

        JsonNode req = finish(call, c, f, pass(received)).path("request");
        assertThat(req.path("size").asInt()).isEqualTo(100_000);
        assertThat(req.path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex(body));
        assertThat(req.path("body_truncated").asBoolean()).isTrue();
        assertThat(req.path("body").asText()).hasSize(1024);
    }

    @Test
    void withoutRequestBodyRecordingNothingOfTheBodyIsHeldOnceAdmitted() throws Exception {
        byte[] body = new byte[50_000];
        RecordConf c = conf("{\"request_body\":false}");
        CallFacts f = facts();
        PendingCall call = new PendingCall("req-1", 1, 1);
        HttpRequest received = request(body);
        call.request(received, c, IDENTITY, f);
        call.admission(pass(received), f, 5).build();
        assertThat(call.heldRequestBytes()).isZero();
        JsonNode req = finish(call, c, f, pass(received)).path("request");
        assertThat(req.path("body_encoding").asText()).isEqualTo("not_recorded");
        assertThat(req.path("size").asInt()).isEqualTo(50_000);
        assertThat(req.path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex(body));
    }

    @Test
    void theRecordHoldsNoBodyOfTheOutcomes() throws Exception {
        // The rewritten body's hash is recorded, but the pending call does not keep the outcome's bodies.
        byte[] body = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);
        RecordConf c = conf("{}");
        CallFacts f = facts();
        PendingCall call = new PendingCall("req-1", 1, 1);
        HttpRequest received = request(body);
        call.request(received, c, IDENTITY, f);
        RequestRewrite rw = RequestRewrite.builder().body(Body.utf8("{\"model\":\"m2\"}")).build();
        JsonNode fin = finish(call, c, f, new RequestOutcome(RequestOutcome.Kind.REWRITE, received, received.apply(rw), rw,
                Optional.empty(), Optional.empty()));
        assertThat(fin.path("rewrite").path("body").asBoolean()).isTrue();
        assertThat(fin.path("rewrite").path("body_sha256").asText()).isEqualTo(HashChain.sha256Hex("{\"model\":\"m2\"}"));
        assertThat(fin.path("response").path("body").asText()).isEqualTo("{\"ok\":true}");
    }

    /**
     * Headers are read for secrets once per request and conf: a conf that arrives after the
     * outcome (the outcome came first, without one) still scrubs its own headers, and the same
     * request seen twice keeps the secrets it had.
     */
    @Test
    void aConfArrivingAfterTheOutcomeStillScrubsItsHeadersAndARequestSeenTwiceKeepsItsSecrets() throws Exception {
        String teamKey = "team-secret-value-1234567";
        byte[] body = ("{\"model\":\"m\",\"note\":\"" + teamKey + "\"}").getBytes(StandardCharsets.UTF_8);
        HttpRequest received = new HttpRequest(1, "POST", "/v1/chat/completions", Headers.of(),
                Headers.of("authorization", TOKEN, "X-Team-Key", teamKey), "10.0.0.7",
                Vars.of(Map.of("request_id", "req-1", "http_authorization", TOKEN)), Optional.of(Body.wrap(body)));
        RecordConf c = conf("{\"scrub_headers\":[\"x-team-key\"]}");
        RequestOutcome outcome = new RequestOutcome(RequestOutcome.Kind.PASS, received, received, RequestRewrite.NONE,
                Optional.empty(), Optional.empty());

        PendingCall late = new PendingCall("req-1", 1, 1);
        late.requestOutcome(outcome, facts()); // no conf yet: the built-in names only
        late.request(received, c, IDENTITY, facts());
        int afterBoth = late.secretCount();
        ObjectNode rec = finish(late, c, facts(), outcome);
        assertThat(rec.toString()).doesNotContain(teamKey).doesNotContain("eyJhbGciOiJSUzI1NiJ9.client-token.sig");

        PendingCall twice = new PendingCall("req-1", 1, 1);
        twice.request(received, c, IDENTITY, facts());
        int once = twice.secretCount();
        twice.requestOutcome(outcome, facts());
        assertThat(twice.secretCount()).isEqualTo(once).isEqualTo(afterBoth);
        assertThat(finish(twice, c, facts(), outcome).toString()).doesNotContain(teamKey);
    }
}
