package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import io.inferencepam.pam.mask.MaskFailure;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;

/**
 * Masks a JSON document token by token (Jackson streaming): only string values are scanned; keys,
 * numbers (written back from their exact source text), literals and member order are untouched.
 * A string member named {@code arguments} (OpenAI tool calls carry their arguments as JSON inside
 * a string) is masked as JSON when it parses as an object or array, else as text. A sequence of
 * root values (NDJSON, e.g. Ollama) stays one value per line. Jackson's nesting limit (1000)
 * rejects pathological depth.
 */
public final class JsonMasker {
    private final JsonFactory factory = JsonFactory.builder().build();
    private final Redactor redactor;

    public JsonMasker(Redactor redactor) {
        this.redactor = redactor;
    }

    /** The masked document; the exact input when nothing was masked. */
    public byte[] mask(byte[] json, MaskTally tally) {
        int before = tally.total();
        ByteArrayOutputStream out = new ByteArrayOutputStream(json.length + 64);
        try (JsonParser p = factory.createParser(json);
             JsonGenerator g = factory.createGenerator(out, JsonEncoding.UTF8)) {
            g.setPrettyPrinter(new MinimalPrettyPrinter("\n"));
            copy(p, g, tally);
        } catch (IOException e) {
            throw MaskFailure.unscannable("invalid JSON");
        }
        return tally.total() == before ? json : out.toByteArray();
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

    /** Masks a string value; JSON-in-string for {@code arguments}. */
    public String maskString(String field, String value, MaskTally tally) {
        if ("arguments".equals(field)) {
            return maskArguments(value, tally);
        }
        return redactor.mask(value, tally);
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
                    g.writeFieldName(field);
                }
                case VALUE_STRING -> g.writeString(maskString(field, p.getText(), tally));
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> g.writeNumber(p.getText());
                default -> g.copyCurrentEvent(p);
            }
        }
    }
}
