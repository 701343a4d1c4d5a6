package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The one serialization of an audit entry that is hashed and stored: RFC 8785, the JSON
 * Canonicalization Scheme (JCS), so that anyone can recompute a hash with a JCS implementation of
 * their own (see {@link JcsWriter} for the rules, and what a lone surrogate becomes). Records are
 * written by {@link JcsWriter} straight from what they know; this class writes a parsed tree in the
 * same form, which is what verifiers do with a stored line.
 */
public final class CanonicalJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder().build();

    private CanonicalJson() {
    }

    public static String write(JsonNode node) {
        return new String(utf8(node), StandardCharsets.UTF_8);
    }

    /** The canonical form as UTF-8. */
    public static byte[] utf8(JsonNode node) {
        Utf8Buffer out = new Utf8Buffer(512);
        writeUtf8(node, out);
        return out.toByteArray();
    }

    /** Appends the canonical form of {@code node}, as UTF-8, to {@code out}. */
    public static void writeUtf8(JsonNode node, Utf8Buffer out) {
        write(node, new JcsWriter(out));
    }

    /** Writes {@code n} as the next value of {@code w}: members sorted, numbers as JCS wants them. */
    static void write(JsonNode n, JcsWriter w) {
        if (n.isObject()) {
            w.beginObject();
            for (String name : sortedNames(n)) {
                w.key(name);
                write(n.get(name), w);
            }
            w.endObject();
        } else if (n.isArray()) {
            w.beginArray();
            for (JsonNode e : n) {
                write(e, w);
            }
            w.endArray();
        } else if (n.isTextual()) {
            w.value(n.textValue());
        } else if (n.isIntegralNumber()) {
            if (n.canConvertToLong()) {
                w.value(n.longValue());
            } else {
                w.value(n.bigIntegerValue());
            }
        } else if (n.isNumber()) {
            w.value(n.doubleValue());
        } else if (n.isBoolean()) {
            w.value(n.booleanValue());
        } else if (n.isNull() || n.isMissingNode()) {
            w.nullValue();
        } else {
            throw new IllegalArgumentException("no JSON form for a " + n.getNodeType() + " node");
        }
    }

    /**
     * The names of an object's members in canonical order: by UTF-16 code units of the names as
     * written (a lone surrogate as U+FFFD). Two names that are written the same have no canonical
     * form ({@link JcsWriter#key} refuses the second).
     */
    static List<String> sortedNames(JsonNode n) {
        List<String> names = new ArrayList<>(n.size());
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        names.sort(JcsWriter.KEY_ORDER);
        return names;
    }

    /**
     * A growable byte buffer, reused across entries by the one thread that owns it: the canonical
     * form is built once, as UTF-8, with no intermediate String.
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

        void setLength(int length) {
            this.length = length;
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

        void put(byte[] b, int from, int to) {
            ensure(to - from);
            System.arraycopy(b, from, bytes, length, to - from);
            length += to - from;
        }

        void putAscii(String s) {
            int n = s.length();
            ensure(n);
            for (int i = 0; i < n; i++) {
                bytes[length++] = (byte) s.charAt(i);
            }
        }
    }

    public static JsonNode parse(byte[] json) throws IOException {
        return MAPPER.readTree(json);
    }

    public static JsonNode parse(String json) throws IOException {
        return MAPPER.readTree(json);
    }
}
