package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.UnlinkedEntry;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseOutcome;
import io.inferencepam.runner.spi.Stop;
import io.inferencepam.runner.spi.Vars;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * Records are written member by member straight from the call ({@link PendingCall#write}, no tree):
 * whatever a call holds, what is written is exactly its RFC 8785 form, as a maintained JCS
 * implementation writes the same record, and it parses back to what the call knew.
 */
class RecordFormProperties {
    private static final String SECRET = "Bearer sk-live-0123456789abcdef";
    private static final String[] TEXT = {"plain", "caf\u00e9 \u6771", "\u001b[31m\u000b\u0000", "\ud83d\ude00", "lone \ud800 |",
            "quote \" back \\ slash /", SECRET, "has sk-live-0123456789abcdef inside", "\r\n\t", ""};

    private static String text(Random r) {
        return TEXT[r.nextInt(TEXT.length)] + (r.nextBoolean() ? "" : TEXT[r.nextInt(TEXT.length)]);
    }

    /** Header names and values never hold CR, LF or NUL (the SPI refuses them). */
    private static String headerText(Random r) {
        return text(r).replace("\r", "").replace("\n", "").replace("\u0000", "");
    }

    private static Optional<Body> body(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> Optional.empty();
            case 1 -> {
                byte[] b = new byte[r.nextInt(64)];
                r.nextBytes(b);
                yield Optional.of(Body.wrap(b));
            }
            default -> Optional.of(Body.utf8(text(r) + "{\"k\":\"" + text(r) + "\"}"));
        };
    }

    /** A call in any state a runner can end one in, from a seed. */
    static PendingCall call(long seed) throws Exception {
        Random r = new Random(seed);
        String confJson = "{\"request_body\":" + r.nextBoolean() + ",\"response_body\":" + r.nextBoolean()
                + (r.nextBoolean() ? ",\"max_body_bytes\":" + (1 + r.nextInt(40)) : "") + "}";
        RecordConf c = RecordConf.from(CanonicalJson.parse(confJson));
        ConfIdentity id = new ConfIdentity("route#chat#ext-plugin-pre-req#1", r.nextBoolean() ? "chat" : text(r), "ext-plugin-pre-req",
                "a".repeat(64), 1);
        CallFacts f = new CallFacts();
        if (r.nextBoolean()) {
            f.principal(new Principal(text(r), text(r), text(r), r.nextBoolean() ? List.of() : List.of(text(r), "ml"), r.nextBoolean() ? null : text(r)));
        }
        if (r.nextBoolean()) {
            f.model(text(r));
        }
        for (int i = r.nextInt(3); i > 0; i--) {
            f.decide(new Decision(text(r), text(r), Decision.Outcome.values()[r.nextInt(Decision.Outcome.values().length)], text(r)));
        }
        for (int i = r.nextInt(3); i > 0; i--) {
            f.masked(text(r), r.nextInt(5));
        }
        if (r.nextInt(4) == 0) {
            f.approval(text(r), List.of(text(r)));
        }
        if (r.nextInt(3) == 0) {
            f.credential(text(r), r.nextBoolean() ? null : text(r));
        }
        List<String> headers = new ArrayList<>(List.of("authorization", SECRET, "content-type", "application/json"));
        for (int i = r.nextInt(4); i > 0; i--) {
            headers.add(r.nextBoolean() ? "User-Agent" : "x-" + headerText(r));
            headers.add(headerText(r));
        }
        Map<String, String> vars = r.nextBoolean() ? Map.of("remote_addr", "10.1.2.3", "http_user_agent", headerText(r))
                : Map.of("http_authorization", SECRET);
        HttpRequest received = new HttpRequest(1, r.nextBoolean() ? "POST" : "GET", "/v1/" + headerText(r),
                r.nextBoolean() ? Headers.of() : Headers.of("api_key", headerText(r), "q", headerText(r)),
                Headers.of(headers.toArray(String[]::new)), "10.0.0.7", Vars.of(vars), body(r));
        PendingCall call = new PendingCall("req-" + seed, 1_700_000_000_000L + r.nextInt(1000), r.nextInt(1000));
        boolean requestSeen = r.nextInt(5) != 0;
        if (requestSeen) {
            call.request(received, c, id, f);
        }
        RequestOutcome outcome = null;
        switch (r.nextInt(4)) {
            case 0 -> { }
            case 1 -> {
                RequestRewrite.Builder b = RequestRewrite.builder().setHeader("authorization", "Bearer upstream-" + headerText(r));
                if (r.nextBoolean()) {
                    b.removeHeader("x-drop").setArg("a", "1").path("/v2/x");
                }
                if (r.nextBoolean()) {
                    b.body(Body.utf8(text(r)));
                }
                RequestRewrite rw = b.build();
                outcome = new RequestOutcome(RequestOutcome.Kind.REWRITE, received, received.apply(rw), rw, Optional.empty(), Optional.empty());
            }
            case 2 -> {
                Stop stop = new Stop(400 + r.nextInt(100), r.nextBoolean() ? Headers.of("content-type", "application/json") : Headers.of(),
                        body(r).orElse(Body.empty()));
                outcome = new RequestOutcome(RequestOutcome.Kind.STOP, received, received, RequestRewrite.builder().build(),
                        Optional.of(stop), Optional.of(text(r)));
            }
            default -> outcome = new RequestOutcome(RequestOutcome.Kind.PASS, received, received, RequestRewrite.builder().build(),
                    Optional.empty(), Optional.empty());
        }
        if (outcome != null) {
            if (r.nextBoolean()) {
                call.admitted(call.admission(outcome, f, 5));
            }
            call.requestOutcome(outcome, f);
        }
        if (r.nextBoolean() && (outcome == null || !outcome.stopped())) {
            HttpResponse upstream = new HttpResponse(2, 200 + r.nextInt(400), r.nextBoolean() ? Headers.of("content-type", "text/plain") : Headers.of(),
                    Vars.of(Map.of("request_id", "req-1")), body(r));
            ResponseOutcome.Kind kind = ResponseOutcome.Kind.values()[r.nextInt(ResponseOutcome.Kind.values().length)];
            call.responseOutcome(new ResponseOutcome(kind, upstream, upstream), c, id, f);
        }
        return call;
    }

    /**
     * A recorded body is what its text says, whichever way it is written (straight from its bytes
     * when it is well-formed UTF-8 without a secret, decoded otherwise): the strictly decoded text;
     * cut to {@code max_body_bytes}, the leniently decoded prefix; with a secret, that text redacted;
     * not text, base64, or only its hash if it holds a secret.
     */
    @Property(tries = 2000)
    void aRecordedBodyIsItsTextRedactedOrItsBase64(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        String[] parts = {"plain ", "caf\u00e9 \u6771 ", "\ud83d\ude00", "q\"\\\u0001", SECRET, "sk-live-0123456789abcdef", "\ufffd"};
        StringBuilder text = new StringBuilder();
        for (int i = r.nextInt(6); i >= 0; i--) {
            text.append(parts[r.nextInt(parts.length)]);
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(3) == 0) { // broken: a stray continuation, an encoded surrogate, a cut sequence, an overlong NUL
            byte[][] bad = {{(byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xC0, (byte) 0x80}};
            byte[] b = bad[r.nextInt(bad.length)];
            int at = r.nextInt(bytes.length + 1);
            byte[] out = new byte[bytes.length + b.length];
            System.arraycopy(bytes, 0, out, 0, at);
            System.arraycopy(b, 0, out, at, b.length);
            System.arraycopy(bytes, at, out, at + b.length, bytes.length - at);
            bytes = out;
        }
        int max = r.nextBoolean() ? 1 + r.nextInt(Math.max(1, bytes.length + 2)) : 1 << 20;
        RecordConf c = RecordConf.from(CanonicalJson.parse("{\"max_body_bytes\":" + max + "}"));
        HttpRequest received = new HttpRequest(1, "POST", "/v1/chat", Headers.of(), Headers.of("authorization", SECRET),
                "10.0.0.7", Vars.of(Map.of()), Optional.of(Body.wrap(bytes.clone())));
        PendingCall call = new PendingCall("req-" + seed, 1_700_000_000_000L, 0);
        call.request(received, c, new ConfIdentity("route#chat#ext-plugin-pre-req#1", "chat", "ext-plugin-pre-req", "a".repeat(64), 1),
                new CallFacts());
        var request = CanonicalJson.parse(call.writeForTest(1_700_000_001_000L, 5_000_000).toByteArray()).get("request");

        byte[] kept = java.util.Arrays.copyOf(bytes, Math.min(bytes.length, max));
        boolean cut = bytes.length > max;
        List<String> secrets = List.of(SECRET, "sk-live-0123456789abcdef");
        Optional<String> strict = Body.wrap(kept).strictUtf8();
        assertThat(request.get("body_sha256").asText()).isEqualTo(io.inferencepam.pam.record.chain.HashChain.sha256Hex(bytes));
        if (strict.isPresent() || cut) {
            String t = strict.orElseGet(() -> new String(kept, StandardCharsets.UTF_8));
            String red = PendingCall.redact(t, secrets);
            assertThat(request.get("body").textValue()).isEqualTo(red);
            assertThat(request.get("body_encoding").asText()).isEqualTo("utf8");
            assertThat(request.path("body_redacted").asBoolean(false)).isEqualTo(!red.equals(t));
            assertThat(request.get("body_truncated").asBoolean()).isEqualTo(cut);
        } else {
            String latin = new String(kept, StandardCharsets.ISO_8859_1);
            boolean secret = !PendingCall.redact(latin, secrets).equals(latin);
            assertThat(request.get("body_encoding").asText()).isEqualTo(secret ? "withheld_secret" : "base64");
            assertThat(request.has("body")).isEqualTo(!secret);
            if (!secret) {
                assertThat(request.get("body").textValue()).isEqualTo(java.util.Base64.getEncoder().encodeToString(kept));
            }
        }
        assertThat(request.get("size").asInt()).isEqualTo(bytes.length);
    }

    @Property(tries = 2000)
    void aRecordIsWrittenInItsRfc8785Form(@ForAll long seed) throws Exception {
        PendingCall call = call(seed);
        UnlinkedEntry written = call.writeForTest(1_700_000_001_000L, 5_000_000);
        String json = written.json();
        byte[] reference = new JsonCanonicalizer(json).getEncodedUTF8();
        assertThat(json).isEqualTo(new String(reference, StandardCharsets.UTF_8));
        assertThat(json).doesNotContain("upstream-"); // the injected credential (values of headers set are never recorded)
    }
}
