package io.inferencepam.pam.catalog;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;

/**
 * Reads the token usage a model server reports in a whole response body (as APISIX hands it to the
 * response phase: a streamed answer arrives complete, every SSE event or NDJSON line in it). Knows
 * the {@link UsageFormat}s; shape by Content-Type, else by the first bytes (APISIX turns an SSE
 * Content-Type into {@code text/plain}, conformance P4b).
 *
 * <p>Cheap on large streams: only the top-level fields of each JSON document are walked (arrays and
 * objects that cannot hold usage are skipped by the streaming parser, never built), and an SSE event
 * or NDJSON line is parsed only when its bytes contain one of the usage field names. When a stream
 * reports usage more than once (vLLM's continuous usage stats: running totals), the last report wins.
 * Stateless and thread-safe.
 */
public final class UsageReader {
    /** Decoded bodies larger than this are not read (the runner's frame limit is 16 MiB − 1). */
    public static final int MAX_DECODED_BYTES = 32 * 1024 * 1024;

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // Python servers emit NaN in logprobs
            .build();
    private static final byte[][] MARKERS = {ascii("usage"), ascii("eval_count"), ascii("generated_tokens")};

    private UsageReader() {
    }

    private enum Shape { JSON, SSE, NDJSON, OTHER }

    /**
     * @param body             the response body as received from the upstream (maybe compressed)
     * @param contentType      the response's Content-Type, "" if none
     * @param contentEncodings the response's Content-Encoding values, in header order
     */
    public static UsageReading read(byte[] body, String contentType, List<String> contentEncodings) {
        byte[] plain;
        try {
            plain = decode(body, contentEncodings);
        } catch (IOException e) {
            return UsageReading.missing(e.getMessage());
        }
        return switch (shape(contentType.toLowerCase(Locale.ROOT), plain)) {
            case SSE -> lastOf(sseData(plain), "no usage in the event stream");
            case NDJSON -> lastOf(lines(plain), "no usage in the NDJSON stream");
            case JSON -> json(plain);
            case OTHER -> UsageReading.missing("response is not JSON, SSE or NDJSON");
        };
    }

    private static UsageReading json(byte[] plain) {
        try (JsonParser p = JSON.createParser(plain)) {
            JsonToken first = p.nextToken();
            Usage u = document(p, first, 0);
            if (p.nextToken() != null) {
                // more than one document: NDJSON served as application/json (Ollama sends either)
                return lastOf(lines(plain), "no usage in the NDJSON stream");
            }
            return u == null ? UsageReading.missing("no usage in the response") : UsageReading.found(u);
        } catch (IOException e) {
            return UsageReading.missing("response is not valid JSON");
        }
    }

    /** The last usage reported by any of {@code documents}; documents that are not JSON are skipped. */
    private static UsageReading lastOf(List<byte[]> documents, String none) {
        for (int i = documents.size() - 1; i >= 0; i--) {
            byte[] d = documents.get(i);
            if (!mentionsUsage(d)) {
                continue;
            }
            try (JsonParser p = JSON.createParser(d)) {
                Usage u = document(p, p.nextToken(), 0);
                if (u != null) {
                    return UsageReading.found(u);
                }
            } catch (IOException notJson) {
                // e.g. "[DONE]", a comment, a truncated line: not a usage report
            }
        }
        return UsageReading.missing(none);
    }

    /** Usage in one JSON value whose first token is {@code first}: an object, or an array of objects (TGI's {@code /}). */
    private static Usage document(JsonParser p, JsonToken first, int depth) throws IOException {
        if (first == JsonToken.START_ARRAY) {
            Usage sum = null;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (t == null) {
                    throw new IOException("truncated");
                }
                Usage u = t == JsonToken.START_OBJECT ? object(p, depth) : skip(p);
                if (u != null) {
                    sum = sum == null ? u : Usage.of(sum.inputTokens() + u.inputTokens(),
                            sum.outputTokens() + u.outputTokens(), sum.totalTokens() + u.totalTokens(), u.format());
                }
            }
            return sum;
        }
        return first == JsonToken.START_OBJECT ? object(p, depth) : null;
    }

    private static Usage skip(JsonParser p) throws IOException {
        p.skipChildren();
        return null;
    }

    /** Walks the top-level fields of one object (the parser is on its START_OBJECT). */
    private static Usage object(JsonParser p, int depth) throws IOException {
        Usage openAi = null;
        Usage nested = null;
        long ollamaIn = -1;
        long ollamaOut = -1;
        long tgiOut = -1;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            if (t != JsonToken.FIELD_NAME) {
                throw new IOException("malformed");
            }
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "usage" -> openAi = v == JsonToken.START_OBJECT ? openAiUsage(p) : skip(p);
                case "prompt_eval_count" -> ollamaIn = count(p, v);
                case "eval_count" -> ollamaOut = count(p, v);
                case "details" -> tgiOut = v == JsonToken.START_OBJECT ? generatedTokens(p) : skipCount(p);
                // The Responses API streams its final usage inside the response.completed event's "response".
                case "response" -> nested = v == JsonToken.START_OBJECT && depth == 0 ? object(p, depth + 1) : skip(p);
                default -> p.skipChildren();
            }
        }
        if (openAi != null) {
            return openAi;
        }
        if (nested != null) {
            return nested;
        }
        if (ollamaIn >= 0 || ollamaOut >= 0) {
            return Usage.of(Math.max(ollamaIn, 0), Math.max(ollamaOut, 0), 0, UsageFormat.OLLAMA);
        }
        if (tgiOut >= 0) {
            return Usage.of(0, tgiOut, 0, UsageFormat.TGI);
        }
        return null;
    }

    private static long skipCount(JsonParser p) throws IOException {
        p.skipChildren();
        return -1;
    }

    private static Usage openAiUsage(JsonParser p) throws IOException {
        long prompt = -1;
        long completion = -1;
        long input = -1;
        long output = -1;
        long total = -1;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "prompt_tokens" -> prompt = count(p, v);
                case "completion_tokens" -> completion = count(p, v);
                case "input_tokens" -> input = count(p, v);
                case "output_tokens" -> output = count(p, v);
                case "total_tokens" -> total = count(p, v);
                default -> p.skipChildren(); // *_tokens_details and the like
            }
        }
        long in = Math.max(prompt, input);
        long out = Math.max(completion, output);
        if (in < 0 && out < 0 && total < 0) {
            return null; // "usage": {} says nothing
        }
        return Usage.of(Math.max(in, 0), Math.max(out, 0), Math.max(total, 0), UsageFormat.OPENAI);
    }

    private static long generatedTokens(JsonParser p) throws IOException {
        long out = -1;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if ("generated_tokens".equals(name)) {
                out = count(p, v);
            } else {
                p.skipChildren(); // "tokens", "prefill": one entry per token, possibly long
            }
        }
        return out;
    }

    /** A token count: a non-negative integer that fits a long; anything else counts as absent (-1). */
    private static long count(JsonParser p, JsonToken v) throws IOException {
        if (v != JsonToken.VALUE_NUMBER_INT) {
            p.skipChildren();
            return -1;
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            return -1;
        }
        long n = p.getLongValue();
        return n < 0 ? -1 : n;
    }

    private static boolean mentionsUsage(byte[] d) {
        for (byte[] m : MARKERS) {
            if (indexOf(d, m) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static Shape shape(String contentType, byte[] body) {
        if (contentType.contains("event-stream")) {
            return Shape.SSE;
        }
        if (contentType.contains("ndjson") || contentType.contains("jsonl")) {
            return Shape.NDJSON;
        }
        int i = 0;
        while (i < body.length && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) {
            i++;
        }
        if (i == body.length) {
            return Shape.OTHER;
        }
        if (startsWith(body, i, "data:") || startsWith(body, i, "event:") || startsWith(body, i, "id:")
                || startsWith(body, i, ":") || startsWith(body, i, "retry:")) {
            return Shape.SSE;
        }
        if (body[i] == '{' || body[i] == '[') {
            return Shape.JSON;
        }
        return Shape.OTHER;
    }

    /** The data of each SSE event (data lines joined by LF, per the HTML living standard's SSE parser). */
    static List<byte[]> sseData(byte[] body) {
        List<byte[]> events = new ArrayList<>();
        ByteArrayOutputStream data = null;
        int i = 0;
        while (i <= body.length) {
            int end = i;
            while (end < body.length && body[end] != '\n' && body[end] != '\r') {
                end++;
            }
            if (end == i) { // blank line (or the end): dispatch
                if (data != null) {
                    events.add(data.toByteArray());
                    data = null;
                }
            } else if (startsWith(body, i, "data:") && end - i >= 5) {
                int from = i + 5;
                if (from < end && body[from] == ' ') {
                    from++;
                }
                if (data == null) {
                    data = new ByteArrayOutputStream(end - from);
                } else {
                    data.write('\n');
                }
                data.write(body, from, end - from);
            }
            if (end >= body.length) {
                break;
            }
            i = end + (body[end] == '\r' && end + 1 < body.length && body[end + 1] == '\n' ? 2 : 1);
        }
        if (data != null) {
            events.add(data.toByteArray()); // a stream cut before its final blank line
        }
        return events;
    }

    static List<byte[]> lines(byte[] body) {
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= body.length; i++) {
            if (i == body.length || body[i] == '\n') {
                int to = i > from && body[i - 1] == '\r' ? i - 1 : i;
                if (to > from) {
                    byte[] line = new byte[to - from];
                    System.arraycopy(body, from, line, 0, line.length);
                    out.add(line);
                }
                from = i + 1;
            }
        }
        return out;
    }

    private static byte[] decode(byte[] body, List<String> contentEncodings) throws IOException {
        List<String> codings = new ArrayList<>();
        for (String header : contentEncodings) {
            for (String c : header.split(",")) {
                String t = c.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !t.equals("identity")) {
                    codings.add(t);
                }
            }
        }
        byte[] cur = body;
        for (int i = codings.size() - 1; i >= 0; i--) {
            String c = codings.get(i);
            InputStream in = switch (c) {
                case "gzip", "x-gzip" -> gzip(cur);
                case "deflate" -> new InflaterInputStream(new ByteArrayInputStream(cur), new Inflater(!zlib(cur)));
                default -> throw new IOException("content-encoding " + (c.length() > 20 ? c.substring(0, 20) : c) + " is not read");
            };
            cur = readCapped(in);
        }
        return cur;
    }

    private static InputStream gzip(byte[] b) throws IOException {
        try {
            return new GZIPInputStream(new ByteArrayInputStream(b), 8192);
        } catch (IOException e) {
            throw new IOException("corrupt gzip body");
        }
    }

    /** RFC 1950 header check: deflate is supposed to be zlib-wrapped, but some servers send raw deflate. */
    private static boolean zlib(byte[] b) {
        return b.length >= 2 && (b[0] & 0x0F) == 8 && ((b[0] & 0xFF) << 8 | (b[1] & 0xFF)) % 31 == 0;
    }

    private static byte[] readCapped(InputStream in) throws IOException {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) > 0) {
                if (out.size() + n > MAX_DECODED_BYTES) {
                    throw new IOException("decoded body too large to read");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (java.util.zip.ZipException e) {
            throw new IOException("corrupt compressed body");
        }
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

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
