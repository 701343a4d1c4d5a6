package io.inferencepam.pam.record.chain;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.erdtman.jcs.NumberToJSON;

/**
 * Writes JSON in the RFC 8785 (JCS) canonical form, as UTF-8, straight into a reused buffer: no
 * tree, no second pass. The caller gives the members of each object in canonical order (keys
 * sorted by UTF-16 code units, i.e. {@link String#compareTo}); the writer checks that order and
 * throws {@link IllegalStateException} on a key that is out of order or repeated, so what it
 * produces is canonical or nothing.
 *
 * <p>Strings: {@code \b \t \n \f \r \" \\} as short escapes, other controls below U+0020 as
 * {@code \}{@code u00xx} (lowercase hex), everything else as UTF-8. A lone surrogate, which
 * UTF-8 cannot encode and I-JSON (the input RFC 8785 requires) forbids, becomes U+FFFD, as the
 * JDK's decoders make of malformed input: the stored bytes are always valid UTF-8, so a verifier
 * that parses them gets back exactly the string that was hashed. Numbers: an integer of at most
 * 2^53 in magnitude as its digits, anything else as the ES6 form of the nearest double.
 *
 * <p>Top-level slots: an entry written here can be linked into the hash chain later
 * ({@link UnlinkedEntry}); the writer remembers where each chain field would sort among the
 * entry's own members, and refuses members with those names.
 */
public final class JcsWriter {
    private static final long MAX_EXACT = 1L << 53;
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    /** 0 = as is; 'u' = backslash-u00xx; '?' = as is, see {@link #string}; anything else = backslash + that byte. */
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
        ESCAPE['?'] = '?'; // not escaped: marks where the JDK's encoder may have put a lone surrogate
    }

    /** The order of member names in the canonical form (of the names as written). */
    public static final java.util.Comparator<String> KEY_ORDER = java.util.Comparator.comparing(JcsWriter::repaired);

    private final CanonicalJson.Utf8Buffer out;
    /** Per open container (index = depth - 1): no member yet / is an object / the last key written. */
    private boolean[] empty = new boolean[8];
    private boolean[] object = new boolean[8];
    private String[] lastKey = new String[8];
    private int depth;
    private boolean afterKey;
    /** Names reserved in the top-level object, sorted, and where a member of that name would start. */
    private final String[] slotKeys;
    private final int[] slotAt;
    private int nextSlot;
    private final String[] refused;

    public JcsWriter(CanonicalJson.Utf8Buffer out) {
        this(out, new String[0], new String[0]);
    }

    /**
     * @param slotKeys top-level names (sorted) whose insertion offsets {@link #slot} reports
     * @param refused  further top-level names the entry may not use
     */
    JcsWriter(CanonicalJson.Utf8Buffer out, String[] slotKeys, String[] refused) {
        this.out = out;
        this.slotKeys = slotKeys;
        this.slotAt = new int[slotKeys.length];
        Arrays.fill(slotAt, -1);
        this.refused = refused;
    }

    public CanonicalJson.Utf8Buffer buffer() {
        return out;
    }

    /** Where (a byte offset in the buffer) the top-level member named {@code slotKeys[i]} would start; -1 until known. */
    int slot(int i) {
        return slotAt[i];
    }

    public JcsWriter beginObject() {
        beforeValue();
        out.put((byte) '{');
        push(true);
        return this;
    }

    public JcsWriter endObject() {
        if (depth == 0 || !object[depth - 1] || afterKey) {
            throw new IllegalStateException("no object to end");
        }
        if (depth == 1) {
            for (int i = 0; i < slotAt.length; i++) {
                if (slotAt[i] < 0) {
                    slotAt[i] = out.length(); // at the closing brace
                }
            }
        }
        depth--;
        out.put((byte) '}');
        return this;
    }

    public JcsWriter beginArray() {
        beforeValue();
        out.put((byte) '[');
        push(false);
        return this;
    }

    public JcsWriter endArray() {
        if (depth == 0 || object[depth - 1]) {
            throw new IllegalStateException("no array to end");
        }
        depth--;
        out.put((byte) ']');
        return this;
    }

    /**
     * The next member's name: must sort after the previous one of this object. A name with a lone
     * surrogate sorts as what is written of it (U+FFFD in its place).
     */
    public JcsWriter key(String name) {
        name = repaired(name);
        int d = depth - 1;
        if (d < 0 || !object[d] || afterKey) {
            throw new IllegalStateException("a key outside an object");
        }
        String last = lastKey[d];
        if (last != null && last.compareTo(name) >= 0) {
            throw new IllegalStateException("object keys out of canonical order");
        }
        if (d == 0 && (slotKeys.length > 0 || refused.length > 0)) {
            topLevelKey(name);
        }
        if (!empty[d]) {
            out.put((byte) ',');
        }
        empty[d] = false;
        lastKey[d] = name;
        string(name, out);
        out.put((byte) ':');
        afterKey = true;
        return this;
    }

    private void topLevelKey(String name) {
        // keys come in order, so only the slots not passed yet are compared
        for (int c; nextSlot < slotKeys.length && (c = slotKeys[nextSlot].compareTo(name)) <= 0; nextSlot++) {
            if (c == 0) {
                throw new IllegalStateException("an entry may not set the chain field " + name);
            }
            slotAt[nextSlot] = out.length() + (empty[0] ? 0 : 1); // after the comma this member gets
        }
        for (String r : refused) {
            if (r.equals(name)) {
                throw new IllegalStateException("an entry may not set the chain field " + name);
            }
        }
    }

    public JcsWriter value(String s) {
        if (s == null) {
            return nullValue();
        }
        beforeValue();
        string(s, out);
        return this;
    }

    public JcsWriter value(long n) {
        beforeValue();
        number(n, out);
        return this;
    }

    public JcsWriter value(double d) {
        beforeValue();
        out.putAscii(es6(d));
        return this;
    }

    public JcsWriter value(BigInteger n) {
        beforeValue();
        if (n.bitLength() < 63) {
            number(n.longValue(), out);
        } else {
            out.putAscii(es6(n.doubleValue()));
        }
        return this;
    }

    public JcsWriter value(boolean b) {
        beforeValue();
        out.putAscii(b ? "true" : "false");
        return this;
    }

    public JcsWriter nullValue() {
        beforeValue();
        out.putAscii("null");
        return this;
    }

    /** {@code key(name).value(s)}. */
    public JcsWriter field(String name, String s) {
        return key(name).value(s);
    }

    public JcsWriter field(String name, long n) {
        return key(name).value(n);
    }

    public JcsWriter field(String name, boolean b) {
        return key(name).value(b);
    }

    public JcsWriter nullField(String name) {
        return key(name).nullValue();
    }

    private void beforeValue() {
        if (afterKey) {
            afterKey = false;
            return;
        }
        if (depth > 0) {
            int d = depth - 1;
            if (object[d]) {
                throw new IllegalStateException("a value without a key in an object");
            }
            if (!empty[d]) {
                out.put((byte) ',');
            }
            empty[d] = false;
        }
    }

    private void push(boolean isObject) {
        if (depth == empty.length) {
            empty = Arrays.copyOf(empty, depth * 2);
            object = Arrays.copyOf(object, depth * 2);
            lastKey = Arrays.copyOf(lastKey, depth * 2);
        }
        empty[depth] = true;
        object[depth] = isObject;
        lastKey[depth] = null;
        depth++;
    }

    static void number(long n, CanonicalJson.Utf8Buffer out) {
        if (n >= -MAX_EXACT && n <= MAX_EXACT) {
            out.putAscii(Long.toString(n));
        } else {
            out.putAscii(es6(n)); // what every JCS implementation makes of it: the nearest double
        }
    }

    /** The ES6 Number-to-String form RFC 8785 requires (the maintained JCS implementation's). */
    static String es6(double d) {
        try {
            return NumberToJSON.serializeNumber(d);
        } catch (IOException e) {
            throw new IllegalArgumentException("NaN and infinities have no JSON form", e);
        }
    }

    /**
     * A JSON string in its canonical form. The JDK's encoder does the UTF-8 (much faster than a
     * char loop); it makes a lone surrogate {@code ?}, so a string whose bytes hold a {@code ?} is
     * checked for lone surrogates, and written again repaired if it has one. Only ASCII is ever
     * escaped, and every byte of a multi-byte UTF-8 sequence is negative, so escaping the encoded
     * bytes is the same as escaping chars.
     */
    static void string(String s, CanonicalJson.Utf8Buffer out) {
        if (!string(s.getBytes(StandardCharsets.UTF_8), s, out)) {
            string(withoutLoneSurrogates(s).getBytes(StandardCharsets.UTF_8), null, out);
        }
    }

    /** Writes {@code raw}; false (nothing written) if a {@code ?} in it came from a lone surrogate of {@code source}. */
    private static boolean string(byte[] raw, String source, CanonicalJson.Utf8Buffer out) {
        out.ensure(raw.length + 2); // and 5 more per escape, when one comes: reserving the worst case (6x) made the buffer grow
        byte[] b = out.array();
        int start = out.length();
        int p = start;
        b[p++] = '"';
        int run = 0;
        for (int i = 0; i < raw.length; i++) {
            int c = raw[i];
            if (c >= 0 && ESCAPE[c] != 0) {
                byte e = ESCAPE[c];
                if (e == '?') {
                    if (source != null && hasLoneSurrogate(source)) {
                        out.setLength(start);
                        return false;
                    }
                    source = null; // checked: every '?' of it is a real one
                    continue;
                }
                System.arraycopy(raw, run, b, p, i - run);
                p += i - run;
                run = i + 1;
                out.setLength(p);
                out.ensure(6 + raw.length - i);
                b = out.array();
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
        out.setLength(p);
        return true;
    }

    static boolean hasLoneSurrogate(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /** {@code s} as the canonical form records it: itself, unless it has a lone surrogate. */
    static String repaired(String s) {
        return hasLoneSurrogate(s) ? withoutLoneSurrogates(s) : s;
    }

    /** {@code s} with every lone surrogate replaced by U+FFFD: the string the canonical form records. */
    public static String withoutLoneSurrogates(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.toString();
    }
}
