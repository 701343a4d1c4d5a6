package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The one serialization of an audit entry that is hashed and stored: object keys sorted by code
 * point, no insignificant whitespace, Jackson's string escaping. Entries only hold strings,
 * booleans, integers, nulls, arrays and objects, so parsing a stored line and writing it again
 * gives the same bytes — which is what lets a verifier recompute hashes.
 */
public final class CanonicalJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder().build();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    private CanonicalJson() {
    }

    public static String write(JsonNode node) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /**
     * The canonical JSON of a top-level object, split where a field named {@code splitAt} (absent
     * from {@code node}) would sort: {@code [before, after]}. {@code before + after} is the canonical
     * form without that field; the field can be spliced in without serializing again.
     */
    public static String[] writeSplit(JsonNode node, String splitAt) {
        List<String> names = new ArrayList<>(node.size());
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        names.sort(null);
        StringWriter out = new StringWriter(1024);
        int split = -1;
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            for (String name : names) {
                if (split < 0 && name.compareTo(splitAt) > 0) {
                    g.flush();
                    split = out.getBuffer().length();
                }
                g.writeFieldName(name);
                write(g, node.get(name));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String all = out.toString();
        if (split < 0) {
            split = all.length() - 1; // before the closing brace
        }
        return new String[] {all.substring(0, split), all.substring(split)};
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            List<String> names = new ArrayList<>(n.size());
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            names.sort(null);
            g.writeStartObject();
            for (String name : names) {
                g.writeFieldName(name);
                write(g, n.get(name));
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isIntegralNumber()) {
            if (n.canConvertToLong()) {
                g.writeNumber(n.longValue());
            } else {
                g.writeNumber(n.bigIntegerValue());
            }
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else if (n.isNull() || n.isMissingNode()) {
            g.writeNull();
        } else {
            g.writeTree(n); // floats and binary: not produced by pam-record
        }
    }

    /**
     * A growable byte buffer, reused across entries by the one thread that owns it (the writer's
     * serializer): the canonical form is built once, as UTF-8, with no intermediate String.
     */
    public static final class Utf8Buffer {
        private byte[] bytes;
        private int length;

        public Utf8Buffer(int initialCapacity) {
            bytes = new byte[Math.max(64, initialCapacity)];
        }

        public byte[] array() {
            return bytes;
        }

        public int length() {
            return length;
        }

        public void reset() {
            length = 0;
        }

        public byte[] toByteArray() {
            return Arrays.copyOf(bytes, length);
        }

        void ensure(int more) {
            if (length + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }

        void put(byte b) {
            ensure(1);
            bytes[length++] = b;
        }

        void putAscii(String s) {
            int n = s.length();
            ensure(n);
            for (int i = 0; i < n; i++) {
                bytes[length++] = (byte) s.charAt(i);
            }
        }
    }

    /** The canonical form as UTF-8: byte for byte {@code write(node).getBytes(UTF_8)}, built without the String. */
    public static byte[] utf8(JsonNode node) {
        Utf8Buffer out = new Utf8Buffer(512);
        writeUtf8(node, out);
        return out.toByteArray();
    }

    /** Appends the canonical form of {@code node}, as UTF-8, to {@code out}. */
    public static void writeUtf8(JsonNode n, Utf8Buffer out) {
        if (n.isObject()) {
            List<String> names = sortedNames(n);
            out.put((byte) '{');
            for (int i = 0; i < names.size(); i++) {
                if (i > 0) {
                    out.put((byte) ',');
                }
                string(names.get(i), out);
                out.put((byte) ':');
                writeUtf8(n.get(names.get(i)), out);
            }
            out.put((byte) '}');
        } else if (n.isArray()) {
            out.put((byte) '[');
            boolean first = true;
            for (JsonNode e : n) {
                if (!first) {
                    out.put((byte) ',');
                }
                first = false;
                writeUtf8(e, out);
            }
            out.put((byte) ']');
        } else if (n.isTextual()) {
            string(n.textValue(), out);
        } else if (n.isIntegralNumber()) {
            out.putAscii(n.canConvertToLong() ? Long.toString(n.longValue()) : n.bigIntegerValue().toString());
        } else if (n.isBoolean()) {
            out.putAscii(n.booleanValue() ? "true" : "false");
        } else if (n.isNull() || n.isMissingNode()) {
            out.putAscii("null");
        } else {
            byte[] other = write(n).getBytes(StandardCharsets.UTF_8); // floats and binary: not produced by pam-record
            out.ensure(other.length);
            System.arraycopy(other, 0, out.bytes, out.length, other.length);
            out.length += other.length;
        }
    }

    /**
     * {@link #writeUtf8} of a top-level object, returning the offset where a field named
     * {@code splitAt} (absent from {@code node}) would sort: {@code [0, split)} and
     * {@code [split, length)} are the two halves {@link #writeSplit} returns, as UTF-8.
     */
    public static int writeUtf8Split(JsonNode node, String splitAt, Utf8Buffer out) {
        int start = out.length;
        List<String> names = sortedNames(node);
        int split = -1;
        out.put((byte) '{');
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (split < 0 && name.compareTo(splitAt) > 0) {
                split = out.length;
            }
            if (i > 0) {
                out.put((byte) ',');
            }
            string(name, out);
            out.put((byte) ':');
            writeUtf8(node.get(name), out);
        }
        if (split < 0) {
            split = out.length; // before the closing brace
        }
        out.put((byte) '}');
        return split - start;
    }

    private static List<String> sortedNames(JsonNode n) {
        List<String> names = new ArrayList<>(n.size());
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        names.sort(null);
        return names;
    }

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    /** Jackson's default output escapes: 0 = as is, 'u' = backslash-u00XX, anything else = backslash + that byte. */
    private static final byte[] ESCAPE = new byte[128];

    static {
        for (int c = 0; c < 0x20; c++) {
            ESCAPE[c] = 'u';
        }
        ESCAPE['\b'] = 'b';
        ESCAPE['\t'] = 't';
        ESCAPE['\n'] = 'n';
        ESCAPE['\f'] = 'f';
        ESCAPE['\r'] = 'r';
        ESCAPE['"'] = '"';
        ESCAPE['\\'] = '\\';
    }

    /**
     * A JSON string exactly as Jackson's character generator escapes it, then encoded as
     * {@code String.getBytes(UTF_8)} does (an unpaired surrogate becomes {@code ?}): the hash is
     * over these bytes, so they must not differ from the String path in any case. It is that
     * encoding, then the escapes: Jackson only escapes ASCII (controls, quote, backslash), and in
     * UTF-8 every byte of a multi-byte character is negative, so escaping the bytes is the same.
     * The JDK's encoder is much faster than a char loop, and unescaped runs are copied in bulk.
     */
    private static void string(String s, Utf8Buffer out) {
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        out.ensure(raw.length * 6 + 2);
        byte[] b = out.bytes;
        int p = out.length;
        b[p++] = '"';
        int run = 0;
        for (int i = 0; i < raw.length; i++) {
            int c = raw[i];
            if (c >= 0 && ESCAPE[c] != 0) {
                System.arraycopy(raw, run, b, p, i - run);
                p += i - run;
                run = i + 1;
                byte e = ESCAPE[c];
                b[p++] = '\\';
                if (e == 'u') {
                    b[p++] = 'u';
                    b[p++] = '0';
                    b[p++] = '0';
                    b[p++] = HEX[c >> 4];
                    b[p++] = HEX[c & 0xF];
                } else {
                    b[p++] = e;
                }
            }
        }
        System.arraycopy(raw, run, b, p, raw.length - run);
        p += raw.length - run;
        b[p++] = '"';
        out.length = p;
    }

    public static JsonNode parse(byte[] json) throws IOException {
        return MAPPER.readTree(json);
    }

    public static JsonNode parse(String json) throws IOException {
        return MAPPER.readTree(json);
    }
}
