package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.inferencepam.pam.mask.MaskFailure;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.detect.KeyContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Masks a JSON document token by token (Jackson streaming): only string values are scanned; keys,
 * numbers, literals, member order and layout are untouched (masked strings are replaced in place).
 * A string member named {@code arguments} (OpenAI tool calls carry their arguments as JSON inside
 * a string) is masked as JSON when it parses as an object or array, else as text. A sequence of
 * root values (NDJSON, e.g. Ollama) keeps its line breaks. Jackson's nesting limit (1000)
 * rejects pathological depth.
 */
public final class JsonMasker {
    /** The longest value remembered as clean. */
    static final int MAX_REMEMBERED = 256;

    private final JsonFactory factory = JsonFactory.builder().build();
    private final Redactor redactor;
    /** Names and values every response repeats, with this conf's verdict on them. */
    private final KnownStrings knownStrings;
    /** Where a body of several root values goes; null for the per-line masker itself. */
    private NdjsonMasker streams;

    public JsonMasker(Redactor redactor) {
        this(redactor, KnownStrings.of(redactor));
    }

    /** @param knownStrings worked out for {@code redactor} ({@link KnownStrings#of}), shared by the maskers of one conf */
    public JsonMasker(Redactor redactor, KnownStrings knownStrings) {
        this.redactor = redactor;
        this.knownStrings = knownStrings;
    }

    /** A JSON body with more than one root value is masked as a stream by {@code ndjson}. */
    public void streamsTo(NdjsonMasker ndjson) {
        this.streams = ndjson;
    }

    /**
     * The masked document; the exact input when nothing was masked. Each masked string's token is
     * replaced in place (quotes included); every other byte — spacing, escapes, number spellings,
     * the line breaks between NDJSON values — is copied unchanged.
     */
    public byte[] mask(byte[] json, MaskTally tally) {
        List<int[]> spans = new ArrayList<>();
        List<String> values = new ArrayList<>();
        // object names, model names, roles, finish reasons repeat in every choice and every NDJSON
        // line: a short value found clean once is clean wherever it repeats (detectors are pure)
        Set<String> cleanText = new HashSet<>();
        Set<String> cleanArgs = new HashSet<>();
        // the same dozen member names repeat in every choice and line: each one's context is worked out once
        Map<String, KeyContext> contexts = new HashMap<>();
        try (JsonParser p = factory.createParser(json)) {
            String field = null;
            // the context the current member name gives its values: asked once per name, not per value
            KeyContext ctx = KeyContext.NONE;
            boolean keyed = false;
            JsonToken t;
            boolean logprobsValue = false;
            int roots = 0;
            while ((t = p.nextToken()) != null) {
                if ((t.isStructStart() && p.getParsingContext().getParent().inRoot()) || (t.isScalarValue() && p.getParsingContext().inRoot())) {
                    if (++roots > 1 && streams != null) {
                        // a sequence of root values is a stream (NDJSON sent as JSON): reassembled as one
                        return streams.mask(json, tally);
                    }
                }
                if (logprobsValue && t != JsonToken.VALUE_NULL) {
                    tally.sawTokenData();
                }
                logprobsValue = false;
                if (t == JsonToken.FIELD_NAME) {
                    field = p.currentName();
                    KeyContext wellKnown = KnownStrings.context(field);
                    ctx = wellKnown != null ? wellKnown : contexts.computeIfAbsent(field, KeyContext::of);
                    keyed = ctx != KeyContext.NONE;
                    logprobsValue = isLogprobs(field);
                    // a key can be the value itself ({"ana@firma.de": {...}})
                    if (!knownClean(cleanText, field)) {
                        String m = redactor.mask(field, tally);
                        if (m.equals(field)) {
                            remember(cleanText, field);
                        } else {
                            long start = p.currentTokenLocation().getByteOffset();
                            spans.add(span(json, start, stringEnd(json, start)));
                            values.add(m);
                        }
                    }
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    // the values that follow in an enclosing array belong to the array's key again
                    String enclosing = enclosingName(p);
                    if (!java.util.Objects.equals(enclosing, field)) {
                        field = enclosing;
                        KeyContext wellKnown = field == null ? null : KnownStrings.context(field);
                        ctx = field == null ? KeyContext.NONE
                                : wellKnown != null ? wellKnown : contexts.computeIfAbsent(field, KeyContext::of);
                        keyed = ctx != KeyContext.NONE;
                    }
                } else if (t == JsonToken.VALUE_STRING) {
                    String v = p.getText();
                    // arguments are masked as JSON, not as text: only their own memo answers for them
                    boolean arguments = "arguments".equals(field);
                    Set<String> clean = arguments ? cleanArgs : cleanText;
                    if (!keyed && (arguments ? known(clean, v) : knownClean(clean, v))) {
                        continue;
                    }
                    String m = maskString(field, ctx, v, tally);
                    if (m.equals(v)) {
                        if (!keyed) {
                            remember(clean, v);
                        }
                    } else {
                        // getText() consumed the token: the parser stands right after its closing quote
                        spans.add(span(json, p.currentTokenLocation().getByteOffset(), p.currentLocation().getByteOffset()));
                        values.add(m);
                    }
                } else if (t == JsonToken.VALUE_NUMBER_INT) {
                    // a card or an SSN sent as a JSON number: masked, it becomes a string
                    String v = p.getText();
                    // "created", "index", token counts repeat in every choice: under a key without
                    // context a number is masked as the text it spells, so a clean spelling stays clean
                    if (!keyed && knownClean(cleanText, v)) {
                        continue;
                    }
                    String m = redactor.maskKeyed(field, ctx, v, tally);
                    if (m.equals(v)) {
                        if (!keyed) {
                            remember(cleanText, v);
                        }
                    } else {
                        long start = p.currentTokenLocation().getByteOffset();
                        spans.add(numberSpan(json, start, v));
                        values.add(m);
                    }
                }
            }
        } catch (IOException e) {
            throw MaskFailure.unscannable("invalid JSON");
        }
        if (spans.isEmpty()) {
            return json;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(json.length + 16 * spans.size());
        int p = 0;
        for (int i = 0; i < spans.size(); i++) {
            int[] span = spans.get(i);
            out.write(json, p, span[0] - p);
            out.write('"');
            out.writeBytes(quotedUtf8(values.get(i)));
            out.write('"');
            p = span[1];
        }
        out.write(json, p, json.length - p);
        return out.toByteArray();
    }

    /** The JSON string contents (without quotes) for {@code value}, as UTF-8. */
    static byte[] quotedUtf8(String value) {
        // fast path: printable ASCII without '"' or '\\' needs no escaping. Checked on the chars, not
        // on getBytes(): that would turn an unpaired surrogate into '?' and hide it from the encoder.
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
                try {
                    return JsonStringEncoder.getInstance().quoteAsUTF8(value);
                } catch (IllegalArgumentException unpairedSurrogate) {
                    throw MaskFailure.unscannable("a string that is not valid Unicode");
                }
            }
        }
        return value.getBytes(StandardCharsets.US_ASCII);
    }

    /** Clean when masked as text: one of this conf's known strings, or found clean earlier in this body. */
    private boolean knownClean(Set<String> cleanText, String v) {
        return knownClean(v) || known(cleanText, v);
    }

    /** True when {@code v}, masked as text (not as tool-call arguments), is one of this conf's known clean strings. */
    boolean knownClean(String v) {
        return knownStrings.clean(v);
    }

    /** {@link KeyContext#of}, looked up without work for the names every response repeats. */
    static KeyContext contextOf(String field) {
        KeyContext wellKnown = KnownStrings.context(field);
        return wellKnown != null ? wellKnown : KeyContext.of(field);
    }

    /** Only short values are remembered: a long one is not hashed just to learn it is not among them. */
    static boolean known(Set<String> clean, String v) {
        return v.length() <= MAX_REMEMBERED && clean.contains(v);
    }

    private static void remember(Set<String> clean, String v) {
        if (v.length() <= MAX_REMEMBERED && clean.size() < 4096) {
            clean.add(v);
        }
    }

    /** The offset after the closing quote of the string token starting at {@code start}, or -1. */
    private static long stringEnd(byte[] json, long start) {
        if (start < 0 || start >= json.length || json[(int) start] != '"') {
            return -1;
        }
        int i = (int) start + 1;
        while (i < json.length && json[i] != '"') {
            i += json[i] == '\\' ? 2 : 1;
        }
        return i < json.length ? i + 1 : -1;
    }

    /** [start, end) of a number token, checked against its text. */
    private static int[] numberSpan(byte[] json, long start, String text) {
        int s = (int) start;
        if (start < 0 || s + text.length() > json.length) {
            throw MaskFailure.unscannable("JSON that is not UTF-8");
        }
        for (int i = 0; i < text.length(); i++) {
            if (json[s + i] != text.charAt(i)) {
                throw MaskFailure.unscannable("a JSON number not where the parser located it");
            }
        }
        return new int[] {s, s + text.length()};
    }

    /** [start, end) of a string token as the parser located it, checked against the bytes. */
    private static int[] span(byte[] json, long start, long end) {
        if (start < 0 || end <= start + 1 || end > json.length || json[(int) start] != '"' || json[(int) end - 1] != '"') {
            // e.g. UTF-16 JSON, where the parser reports no byte offsets
            throw MaskFailure.unscannable("JSON that is not UTF-8");
        }
        return new int[] {(int) start, (int) end};
    }

    /** Masks JSON held in a Java string (tool-call arguments); empty-handed callers fall back to text. */
    public String maskJsonText(String json, MaskTally tally) throws IOException {
        StringWriter w = new StringWriter(json.length() + 16);
        int before = tally.total();
        try (JsonParser p = factory.createParser(json); JsonGenerator g = factory.createGenerator(w)) {
            copy(p, g, tally);
        }
        return tally.total() == before ? json : w.toString();
    }

    /** Masks a string value under its key (the key's context counts); JSON-in-string for {@code arguments}. */
    public String maskString(String field, String value, MaskTally tally) {
        return maskString(field, KeyContext.of(field), value, tally);
    }

    /** {@link #maskString(String, String, MaskTally)} with the field's context already known ({@code KeyContext.of(field)}). */
    String maskString(String field, KeyContext ctx, String value, MaskTally tally) {
        if ("arguments".equals(field)) {
            return maskArguments(value, tally);
        }
        return redactor.maskKeyed(field, ctx, value, tally);
    }

    /**
     * Tool-call arguments: masked as JSON when they are a JSON object or array, as text otherwise
     * (a truncated or non-JSON argument string must still not leak).
     */
    public String maskArguments(String value, MaskTally tally) {
        String t = value.stripLeading();
        if (t.startsWith("{") || t.startsWith("[")) {
            MaskTally trial = new MaskTally();
            try {
                String masked = maskJsonText(value, trial);
                tally.addAll(trial);
                return masked;
            } catch (IOException e) {
                // not (complete) JSON: fall through to text
            }
        }
        return redactor.mask(value, tally);
    }

    /** Per-token data that spells out the text piece by piece. */
    public static boolean isLogprobs(String field) {
        return "logprobs".equals(field) || "top_logprobs".equals(field);
    }

    private void copy(JsonParser p, JsonGenerator g, MaskTally tally) throws IOException {
        String field = null;
        JsonToken t;
        boolean logprobsValue = false;
        while ((t = p.nextToken()) != null) {
            if (logprobsValue && t != JsonToken.VALUE_NULL) {
                tally.sawTokenData();
            }
            logprobsValue = false;
            switch (t) {
                case FIELD_NAME -> {
                    field = p.currentName();
                    logprobsValue = isLogprobs(field);
                    g.writeFieldName(redactor.mask(field, tally));
                }
                case VALUE_STRING -> g.writeString(maskString(field, p.getText(), tally));
                case VALUE_NUMBER_INT -> {
                    String v = p.getText();
                    String m = redactor.maskKeyed(field, v, tally);
                    if (m.equals(v)) {
                        g.writeNumber(v);
                    } else {
                        g.writeString(m);
                    }
                }
                case VALUE_NUMBER_FLOAT -> g.writeNumber(p.getText());
                case END_OBJECT, END_ARRAY -> {
                    g.copyCurrentEvent(p);
                    field = enclosingName(p);
                }
                default -> g.copyCurrentEvent(p);
            }
        }
    }

    /**
     * The member name the parser's next values belong to after a closing bracket: the current name
     * of the nearest enclosing object ({@code {"api_key":[{"id":"x"},"s3cr3t"]}}: "s3cr3t" is the
     * api_key's, not the id's); null at the root.
     */
    private static String enclosingName(JsonParser p) {
        for (com.fasterxml.jackson.core.JsonStreamContext c = p.getParsingContext(); c != null; c = c.getParent()) {
            if (c.inObject()) {
                return c.getCurrentName();
            }
        }
        return null;
    }
}
