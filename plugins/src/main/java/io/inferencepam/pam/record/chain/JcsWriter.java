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

    /**
     * The next member, a string given as UTF-8 bytes, written straight from them in one pass that
     * checks the encoding and escapes: no {@code String}, no copy but the one into the buffer.
     * False, and nothing written (not even the name), if the bytes are not well-formed UTF-8
     * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF; what the JDK's strict
     * decoder refuses); the caller then writes the member some other way. What it writes is what
     * {@code field(name, s)} writes for the string {@code s} those bytes decode to, byte for byte.
     */
    public boolean utf8Field(String name, byte[] utf8) {
        int d = depth - 1;
        int mark = out.length();
        boolean wasEmpty = d >= 0 && empty[d];
        String wasLast = d >= 0 ? lastKey[d] : null;
        int wasNextSlot = nextSlot;
        key(name);
        beforeValue();
        if (utf8String(utf8, out)) {
            return true;
        }
        out.setLength(mark);
        empty[d] = wasEmpty;
        lastKey[d] = wasLast;
        for (int i = wasNextSlot; i < nextSlot; i++) {
            slotAt[i] = -1;
        }
        nextSlot = wasNextSlot;
        return false;
    }

    /**
     * {@code raw} as a JSON string in canonical form, if it is well-formed UTF-8; false (the buffer
     * as it was) otherwise. Multi-byte sequences are copied as they are (every byte of one is
     * negative, and only ASCII is ever escaped), so this is the same output as
     * {@link #string(String, CanonicalJson.Utf8Buffer)} of the decoded text.
     */
    static boolean utf8String(byte[] raw, CanonicalJson.Utf8Buffer out) {
        int n = raw.length;
        int start = out.length();
        out.ensure(n + 2); // and 5 more per escape, when one comes
        byte[] b = out.array();
        int p = start;
        b[p++] = '"';
        int run = 0; // the first byte not copied yet
        int i = 0;
        while (i < n) {
            int c = raw[i];
            if (c >= 0) {
                byte e = ESCAPE[c];
                if (e != 0 && e != '?') {
                    System.arraycopy(raw, run, b, p, i - run);
                    p += i - run;
                    run = i + 1;
                    out.setLength(p);
                    out.ensure(6 + n - i);
                    b = out.array();
                    p = escape(b, p, c, e);
                }
                i++;
                continue;
            }
            int len = wellFormed(raw, i);
            if (len == 0) {
                out.setLength(start);
                return false;
            }
            i += len;
        }
        System.arraycopy(raw, run, b, p, n - run);
        p += n - run;
        b[p++] = '"';
        out.setLength(p);
        return true;
    }

    /**
     * The length (2 to 4) of the well-formed UTF-8 sequence that starts at {@code at} with a
     * non-ASCII byte, or 0 if it is not one (Unicode Table 3-7).
     */
    private static int wellFormed(byte[] raw, int at) {
        int left = raw.length - at;
        int b0 = raw[at] & 0xFF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            return left >= 2 && continuation(raw[at + 1], 0x80, 0xBF) ? 2 : 0;
        }
        if (b0 >= 0xE0 && b0 <= 0xEF) {
            if (left < 3) {
                return 0;
            }
            int lo = b0 == 0xE0 ? 0xA0 : 0x80;
            int hi = b0 == 0xED ? 0x9F : 0xBF; // ED A0..BF would be a surrogate
            return continuation(raw[at + 1], lo, hi) && continuation(raw[at + 2], 0x80, 0xBF) ? 3 : 0;
        }
        if (b0 >= 0xF0 && b0 <= 0xF4) {
            if (left < 4) {
                return 0;
            }
            int lo = b0 == 0xF0 ? 0x90 : 0x80;
            int hi = b0 == 0xF4 ? 0x8F : 0xBF; // F4 90.. would be above U+10FFFF
            return continuation(raw[at + 1], lo, hi) && continuation(raw[at + 2], 0x80, 0xBF)
                    && continuation(raw[at + 3], 0x80, 0xBF) ? 4 : 0;
        }
        return 0; // a continuation byte, C0/C1 (overlong), F5..FF
    }

    private static boolean continuation(byte b, int lo, int hi) {
        int v = b & 0xFF;
        return v >= lo && v <= hi;
    }

    /**
     * The next member, an instant as {@code Instant.ofEpochMilli(epochMillis).toString()} writes it
     * ({@code 2026-12-07T19:30:00.123Z}; no fraction on a whole second), straight into the buffer:
     * no formatter, no String. Years outside 0000–9999 take the formatter's own form.
     */
    public JcsWriter instantField(String name, long epochMillis) {
        key(name);
        long days = Math.floorDiv(epochMillis, 86_400_000L);
        java.time.LocalDate date = java.time.LocalDate.ofEpochDay(days);
        int year = date.getYear();
        if (year < 0 || year > 9999) {
            beforeValue();
            string(java.time.Instant.ofEpochMilli(epochMillis).toString(), out);
            return this;
        }
        beforeValue();
        int ms = (int) (epochMillis - days * 86_400_000L);
        int sec = ms / 1000;
        ms %= 1000;
        out.ensure(26);
        byte[] b = out.array();
        int p = out.length();
        b[p++] = '"';
        p = digits(b, p, year, 4);
        b[p++] = '-';
        p = digits(b, p, date.getMonthValue(), 2);
        b[p++] = '-';
        p = digits(b, p, date.getDayOfMonth(), 2);
        b[p++] = 'T';
        p = digits(b, p, sec / 3600, 2);
        b[p++] = ':';
        p = digits(b, p, sec / 60 % 60, 2);
        b[p++] = ':';
        p = digits(b, p, sec % 60, 2);
        if (ms != 0) {
            b[p++] = '.';
            p = digits(b, p, ms, 3);
        }
        b[p++] = 'Z';
        b[p++] = '"';
        out.setLength(p);
        return this;
    }

    private static int digits(byte[] b, int p, int v, int width) {
        for (int i = width - 1; i >= 0; i--) {
            b[p + i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return p + width;
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
                p = escape(b, p, c, e);
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

    /**
     * Writes JSON's escape of the ASCII byte {@code c} at {@code p} ({@code e}: its {@code ESCAPE}
     * entry, {@code 'u'} for the six-byte hexadecimal form); the caller has made room for six bytes.
     * Returns the next position.
     */
    private static int escape(byte[] b, int p, int c, byte e) {
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
        return p;
    }
}
