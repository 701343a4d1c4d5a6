package io.inferencepam.pam.mask;

import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.mask.structure.ContentDecoder;
import io.inferencepam.pam.mask.structure.DeclaredCharset;
import io.inferencepam.pam.mask.structure.JsonMasker;
import io.inferencepam.pam.mask.structure.KnownStrings;
import io.inferencepam.pam.mask.structure.NdjsonMasker;
import io.inferencepam.pam.mask.structure.StreamShapes;
import io.inferencepam.pam.mask.structure.SseMasker;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.OpenAiError;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One pam-mask conf. Request phase: drop Accept-Encoding. Response phase: decode, mask by
 * structure (JSON, SSE, text), report counts, and fail closed — any failure replaces the response
 * with a safe error, never the original body.
 */
public final class MaskPlugin implements Plugin {
    static final String COUNT_HEADER = "x-pam-masked";
    private static final RequestRewrite DROP_ACCEPT_ENCODING = RequestRewrite.builder().removeHeader("accept-encoding").build();

    private enum Shape { JSON, NDJSON, SSE, TEXT, BINARY }

    private final Redactor redactor;
    private final MaskSettings settings;
    private final JsonMasker json;
    private final SseMasker sse;
    private final NdjsonMasker ndjson;

    public MaskPlugin(Redactor redactor, MaskSettings settings) {
        this.redactor = redactor;
        this.settings = settings;
        KnownStrings known = KnownStrings.of(redactor);
        this.json = new JsonMasker(redactor, known);
        this.sse = new SseMasker(redactor, json, StreamShapes.BUILTIN);
        // NDJSON lines are masked one by one by a JsonMasker that does not hand streams on again
        this.ndjson = new NdjsonMasker(redactor, new JsonMasker(redactor, known), StreamShapes.BUILTIN);
        this.json.streamsTo(ndjson);
    }

    @Override
    public Requirements requirements(Phase phase) {
        return phase == Phase.RESPONSE ? Requirements.NONE.withResponseBody() : Requirements.NONE;
    }

    /** Counts go to CallFacts, which pam-record reads in the same phase or across phases. */
    @Override
    public boolean correlatesPhases() {
        return true;
    }

    /** The request phase hands nothing to the response phase: no {@code request_id} round trip for it. */
    @Override
    public boolean correlatesCall(String method, String path) {
        return false;
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
        // Always, even when the header is not among the first 100 APISIX shows us (conformance R11).
        return RequestDecision.proceed(DROP_ACCEPT_ENCODING);
    }

    @Override
    public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
        ResponseChange change;
        try {
            change = mask(response, context);
        } catch (MaskFailure f) {
            record(context, Decision.Outcome.ERROR, f.code(), "response withheld: " + f.code());
            change = error(f.status(), "gateway_error", f.code(), f.getMessage());
        }
        return CompletableFuture.completedFuture(change);
    }

    ResponseChange mask(HttpResponse response, CallContext context) {
        Body body = response.body().orElseThrow(() -> MaskFailure.unscannable("no body was provided"));
        if (body.isEmpty()) {
            return ResponseChange.NONE;
        }
        if (body.length() > settings.maxBodyBytes()) {
            throw ContentDecoder.tooLarge();
        }
        byte[] raw = body.toByteArray();
        List<String> encodings = response.headers().all("content-encoding");
        byte[] plain = ContentDecoder.decode(raw, encodings, settings.maxBodyBytes());
        boolean decoded = plain != raw;
        List<String> contentTypes = response.headers().all("content-type");
        if (contentTypes.size() > 1) {
            // Which one the client believes is not ours to guess: a first "octet-stream" could hide
            // the JSON a client parses from the scan.
            throw MaskFailure.unscannable("more than one Content-Type");
        }
        String contentType = contentTypes.isEmpty() ? "" : contentTypes.get(0).toLowerCase(Locale.ROOT);
        // a declared charset other than UTF-8: decode it strictly, mask UTF-8, write the charset back
        Charset declared = DeclaredCharset.of(contentType);
        byte[] original = plain;
        if (declared != null) {
            plain = DeclaredCharset.decode(plain, declared).getBytes(StandardCharsets.UTF_8);
        }
        Shape shape = shape(contentType, plain);
        if (shape == Shape.BINARY) {
            if (settings.passUnscannable() && !decoded) {
                return ResponseChange.NONE;
            }
            throw MaskFailure.unscannable("not text");
        }
        MaskTally tally = new MaskTally();
        Runnable deadline = () -> {
            if (Instant.now().isAfter(context.deadline())) {
                throw new MaskFailure(503, "response_inspection_timeout",
                        "The gateway ran out of time inspecting the model's response, so it was withheld. Retry later.");
            }
        };
        byte[] out = switch (shape) {
            case JSON -> json.mask(plain, tally);
            case NDJSON -> ndjson.mask(plain, tally);
            case SSE -> utf8(sse.mask(text(plain), tally, deadline));
            default -> utf8(redactor.mask(text(plain), tally));
        };
        deadline.run();
        if (declared != null && tally.total() > 0) {
            out = DeclaredCharset.encode(new String(out, StandardCharsets.UTF_8), declared);
        }
        if (tally.total() > 0 && out.length > settings.maxBodyBytes()) {
            // Replacement tokens can be longer than what they replace (a 1-character custom match
            // becomes "[NAME]"), so no input bound alone keeps the output within one frame.
            throw new MaskFailure(502, "masked_response_too_large",
                    "The model's response grew past the size the gateway delivers once masked, so it was withheld. "
                            + "Ask for a shorter response (e.g. lower max_tokens).");
        }
        CallFacts facts = CallFacts.of(context);
        tally.counts().forEach(facts::masked);
        if (tally.blockedBy() != null) {
            facts.decide(new Decision(MaskPluginFactory.NAME, tally.blockedBy(), Decision.Outcome.BLOCK,
                    "response blocked: it contained a " + tally.blockedBy() + " value"));
            return error(settings.blockStatus(), "policy_violation", "response_blocked_sensitive_data",
                    "The model's response contained data this route may not return, so it was withheld.");
        }
        if (tally.total() > 0 && tally.tokenData()) {
            // logprobs repeat the text token by token ("jo", "hn@", …): masking the text alone would leak
            throw new MaskFailure(502, "response_logprobs_unmaskable",
                    "The model's response contained data this route masks, and its logprobs would reveal it, "
                            + "so it was withheld. Retry without logprobs.");
        }
        if (tally.total() > 0) {
            facts.decide(new Decision(MaskPluginFactory.NAME, "mask", Decision.Outcome.MASK, "masked " + tally.header()));
        }
        if (tally.total() == 0 && !decoded) {
            return ResponseChange.NONE;
        }
        ResponseChange change = ResponseChange.body(Body.wrap(tally.total() == 0 ? original : out));
        if (decoded) {
            change = change.withHeader("Content-Encoding", null);
        }
        if (settings.countHeader() && tally.total() > 0) {
            change = change.withHeader(COUNT_HEADER, tally.header());
        }
        return change;
    }

    private static ResponseChange error(int status, String type, String code, String message) {
        return ResponseChange.replace(status, "application/json", Body.utf8(OpenAiError.json(type, code, message)))
                .withHeader("Cache-Control", "no-store");
    }

    private static void record(CallContext context, Decision.Outcome outcome, String rule, String reason) {
        CallFacts.of(context).decide(new Decision(MaskPluginFactory.NAME, rule, outcome, reason));
    }

    private static Shape shape(String contentType, byte[] body) {
        if (contentType.contains("event-stream")) {
            // no event stream starts with a JSON value, and clients such as the OpenAI SDK parse a
            // JSON body whatever its type says: mask it as the JSON it is
            int first = firstNonBlank(body);
            return first < body.length && (body[first] == '{' || body[first] == '[') ? Shape.JSON : Shape.SSE;
        }
        if (contentType.contains("ndjson") || contentType.contains("jsonl") || contentType.contains("json-seq")) {
            return Shape.NDJSON;
        }
        if (contentType.contains("json")) {
            return Shape.JSON;
        }
        if (contentType.startsWith("text/") || contentType.contains("xml") || contentType.contains("javascript")
                || contentType.contains("yaml") || contentType.contains("x-www-form-urlencoded")) {
            return sniff(body, Shape.TEXT);
        }
        if (contentType.isEmpty()) {
            return sniff(body, Shape.TEXT);
        }
        return Shape.BINARY;
    }

    /**
     * APISIX replaces an SSE content type by text/plain (conformance P4b): look at the bytes. A text
     * that merely starts like an event stream ("data: ok" asked of the model, then the answer) is
     * still fully scanned: the SSE masker masks every line that is not a data line as text.
     */
    private static Shape sniff(byte[] body, Shape fallback) {
        int i = firstNonBlank(body);
        if (startsWith(body, i, "data:") || startsWith(body, i, "event:") || startsWith(body, i, "id:")
                || startsWith(body, i, "retry:") || startsWith(body, i, ":")) {
            return Shape.SSE;
        }
        return fallback;
    }

    /** The first byte after a UTF-8 byte-order mark (which JSON parsers and SSE clients skip) and blanks. */
    private static int firstNonBlank(byte[] body) {
        int i = body.length >= 3 && (body[0] & 0xff) == 0xEF && (body[1] & 0xff) == 0xBB && (body[2] & 0xff) == 0xBF ? 3 : 0;
        while (i < body.length && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) {
            i++;
        }
        return i;
    }

    private static boolean startsWith(byte[] b, int at, String prefix) {
        if (b.length - at < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (b[at + k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static String text(byte[] bytes) {
        // The lenient decoder is several times faster than a reporting CharsetDecoder, and it turns
        // every malformed sequence into U+FFFD: a result without one proves the bytes valid UTF-8.
        String s = new String(bytes, StandardCharsets.UTF_8);
        if (s.indexOf('\uFFFD') >= 0) {
            s = Body.wrap(bytes).strictUtf8().orElseThrow(() -> MaskFailure.unscannable("not UTF-8 text"));
        }
        if (s.indexOf('\u0000') >= 0) {
            // NULs between letters: UTF-16 (or another wide encoding) without a declared charset;
            // scanned as UTF-8, "a\0n\0a\0@…" would hide every value
            throw MaskFailure.unscannable("text with NUL characters (an undeclared wide encoding?)");
        }
        return s;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
