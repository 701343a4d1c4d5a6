package io.inferencepam.pam.guard;

import io.inferencepam.pam.core.KeyFold;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * The fast path of {@link StrictJsonBody#view}: one pass over the bytes of a common request body
 * that checks everything the Jackson pass checks and notes where the wanted top-level members are,
 * without building or decoding anything else. Its only answers are "accepted, the wanted members are
 * here" and "not sure": it accepts a body only when it is certain the Jackson pass accepts it too,
 * and leaves every other body — anything refused, and anything unusual — to that pass, which then
 * decides as before (so a refusal's code and message are the same).
 *
 * <p>Why: on a 4 KiB chat body the Jackson pass spent most of its time skipping the messages' text a
 * byte at a time; this pass skips it eight bytes at a time, so the parameter policy's body part costs
 * less than one plain Jackson parse (measured by {@code GuardBodyDecideBench}).
 *
 * <p>Accepted only: strict RFC 8259 grammar (whitespace of space, tab, CR, LF; no comments, no
 * trailing commas, numbers without leading zeros); keys of printable ASCII without escapes, at most
 * {@value #MAX_KEY} bytes, no repeated key in any object (byte equality is decoded equality for such
 * keys), and no two keys of one object with the same fold hash ({@link KeyFold#foldHash}: so none
 * that fold together, which {@link StrictJsonBody} refuses in some objects; a mere collision is left
 * to the Jackson pass too); at most {@value #MAX_KEYS} keys per object and {@value #MAX_DEPTH} levels of nesting;
 * numbers of at most {@value #MAX_NUMBER} characters with at most four exponent digits (so every
 * conversion Jackson makes succeeds); string values with valid escapes and no raw control
 * characters (their UTF-8 is checked before, by {@code StrictUtf8}). Far inside every limit Jackson
 * applies (nesting 500+, numbers 1000, names 50,000, strings 20,000,000).
 */
final class StrictJsonScan {
    static final int MAX_DEPTH = 64;
    static final int MAX_KEYS = 64;
    static final int MAX_KEY = 256;
    static final int MAX_NUMBER = 64;
    /** Larger bodies go to the Jackson pass (strings then stay far below Jackson's 20,000,000-character limit). */
    static final int MAX_BODY = 4 << 20;

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    /** Not sure: thrown to unwind the descent, without a stack trace (it is the common way out of unusual input). */
    private static final class NotSure extends RuntimeException {
        NotSure() {
            super(null, null, false, false);
        }
    }

    private static final NotSure NOT_SURE = new NotSure();

    private final byte[] b;
    private final int n;
    private final Predicate<String> wanted;
    private int pos;
    /** Start, end and fold hash ({@link KeyFold#foldHash}) of every key of the open objects, innermost last. */
    private int[] keys = new int[96];
    private int keyTop;
    /** Pairs of [from, to) of the wanted top-level members, from the key's opening quote to the value's end. */
    private int[] members = new int[8];
    private int memberCount;

    private StrictJsonScan(byte[] b, Predicate<String> wanted) {
        this.b = b;
        this.n = b.length;
        this.wanted = wanted;
    }

    /**
     * The wanted members of {@code body} as one JSON object, {@code {"k":v,...}} in body order, or null
     * when not sure. {@code body} must be well-formed UTF-8.
     */
    static byte[] wantedMembers(byte[] body, Predicate<String> wanted) {
        StrictJsonScan s = new StrictJsonScan(body, wanted);
        try {
            s.document();
        } catch (NotSure | ArrayIndexOutOfBoundsException e) {
            // out of bounds: the body ended inside a value (a truncated body), which the Jackson pass refuses
            return null;
        }
        return s.collect();
    }

    private byte[] collect() {
        int size = 2;
        for (int i = 0; i < memberCount; i++) {
            size += members[2 * i + 1] - members[2 * i] + 1;
        }
        byte[] out = new byte[size];
        out[0] = '{';
        int at = 1;
        for (int i = 0; i < memberCount; i++) {
            if (i > 0) {
                out[at++] = ',';
            }
            int from = members[2 * i];
            int len = members[2 * i + 1] - from;
            System.arraycopy(b, from, out, at, len);
            at += len;
        }
        out[at++] = '}';
        return at == size ? out : Arrays.copyOf(out, at);
    }

    private void document() {
        ws();
        if (b[pos] != '{') {
            throw NOT_SURE;
        }
        object(1, true);
        ws();
        if (pos != n) {
            throw NOT_SURE;
        }
    }

    /** From {@code {} to just past its {@code }}. */
    private void object(int depth, boolean top) {
        if (depth > MAX_DEPTH) {
            throw NOT_SURE;
        }
        pos++;
        ws();
        if (b[pos] == '}') {
            pos++;
            return;
        }
        int first = keyTop;
        while (true) {
            if (b[pos] != '"') {
                throw NOT_SURE;
            }
            int quote = pos;
            int k0 = ++pos;
            int hash = key();
            int k1 = pos++;
            for (int i = first; i < keyTop; i += 3) {
                if (keys[i + 2] == hash) {
                    // A repeated key, two that fold together, or only a hash collision: the Jackson pass
                    // decides (refuses the first two). Never compared as strings here: keys built to
                    // collide made that pairwise comparison quadratic in their length (review).
                    throw NOT_SURE;
                }
            }
            if (keyTop - first >= 3 * MAX_KEYS) {
                throw NOT_SURE;
            }
            if (keyTop + 3 > keys.length) {
                keys = Arrays.copyOf(keys, keys.length * 2);
            }
            keys[keyTop++] = k0;
            keys[keyTop++] = k1;
            keys[keyTop++] = hash;
            ws();
            if (b[pos] != ':') {
                throw NOT_SURE;
            }
            pos++;
            ws();
            value(depth);
            if (top && wanted.test(text(k0, k1))) {
                member(quote, pos);
            }
            ws();
            byte c = b[pos++];
            if (c == '}') {
                break;
            }
            if (c != ',') {
                throw NOT_SURE;
            }
            ws();
        }
        keyTop = first;
    }

    private String text(int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private void member(int from, int to) {
        if (2 * memberCount + 2 > members.length) {
            members = Arrays.copyOf(members, members.length * 2);
        }
        members[2 * memberCount] = from;
        members[2 * memberCount + 1] = to;
        memberCount++;
    }

    /** From {@code [} to just past its {@code ]}. */
    private void array(int depth) {
        if (depth > MAX_DEPTH) {
            throw NOT_SURE;
        }
        pos++;
        ws();
        if (b[pos] == ']') {
            pos++;
            return;
        }
        while (true) {
            if (b[pos] == '{') {
                object(depth + 1, false);
            } else {
                value(depth);
            }
            ws();
            byte c = b[pos++];
            if (c == ']') {
                return;
            }
            if (c != ',') {
                throw NOT_SURE;
            }
            ws();
        }
    }

    /** One value. */
    private void value(int depth) {
        byte c = b[pos];
        switch (c) {
            case '{' -> object(depth + 1, false);
            case '[' -> array(depth + 1);
            case '"' -> {
                pos++;
                string();
            }
            case 't' -> literal('t', 'r', 'u', 'e');
            case 'f' -> {
                literal('f', 'a', 'l', 's');
                if (b[pos++] != 'e') {
                    throw NOT_SURE;
                }
            }
            case 'n' -> literal('n', 'u', 'l', 'l');
            default -> number();
        }
    }

    private void literal(char c0, char c1, char c2, char c3) {
        if (b[pos] != c0 || b[pos + 1] != c1 || b[pos + 2] != c2 || b[pos + 3] != c3) {
            throw NOT_SURE;
        }
        pos += 4;
    }

    /** {@code -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]{1,4})?}, at most {@link #MAX_NUMBER} characters. */
    private void number() {
        int start = pos;
        if (b[pos] == '-') {
            pos++;
        }
        if (b[pos] == '0') {
            pos++;
        } else if (digit(b[pos])) {
            digits();
        } else {
            throw NOT_SURE;
        }
        if (b[pos] == '.') {
            pos++;
            if (!digit(b[pos])) {
                throw NOT_SURE;
            }
            digits();
        }
        if (b[pos] == 'e' || b[pos] == 'E') {
            pos++;
            if (b[pos] == '+' || b[pos] == '-') {
                pos++;
            }
            int e = pos;
            if (!digit(b[pos])) {
                throw NOT_SURE;
            }
            digits();
            if (pos - e > 4) {
                throw NOT_SURE;
            }
        }
        if (pos - start > MAX_NUMBER) {
            throw NOT_SURE;
        }
    }

    private void digits() {
        while (digit(b[pos])) {
            pos++;
        }
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /**
     * A key's bytes, from just past its opening quote to its closing quote: printable ASCII, no escapes.
     *
     * @return its {@link KeyFold#foldHash} (for ASCII: {@code _} and {@code -} skipped, letters lower-cased)
     */
    private int key() {
        int start = pos;
        int h = 0;
        while (true) {
            byte c = b[pos];
            if (c == '"') {
                break;
            }
            if (c < 0x20 || c == '\\' || c == 0x7f) {
                throw NOT_SURE; // raw control characters, escapes, non-ASCII (negative bytes): the Jackson pass decides
            }
            if (c != '_' && c != '-') {
                h = 31 * h + (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            }
            pos++;
        }
        if (pos - start > MAX_KEY) {
            throw NOT_SURE;
        }
        return h;
    }

    /** A string value, from just past its opening quote to just past its closing quote. */
    private void string() {
        int p = pos;
        while (true) {
            p = plain(b, p, n);
            int c = b[p++] & 0xff;
            if (c == '"') {
                pos = p;
                return;
            }
            if (c == '\\') {
                pos = p;
                escape();
                p = pos;
            } else {
                throw NOT_SURE; // a raw control character: the Jackson pass refuses it
            }
        }
    }

    /**
     * The index of the first quote, backslash or control character from {@code p} on (or {@code n}),
     * eight bytes at a time: the lowest flagged byte of {@link #special} is always a real one (the bit
     * tricks only over-report above a real match).
     */
    private static int plain(byte[] b, int p, int n) {
        while (p + 8 <= n) {
            long s = special((long) LONGS.get(b, p));
            if (s != 0) {
                return p + (Long.numberOfTrailingZeros(s) >>> 3);
            }
            p += 8;
        }
        while (p < n && b[p] != '"' && b[p] != '\\' && (b[p] < 0 || b[p] >= 0x20)) {
            p++;
        }
        return p;
    }

    /**
     * Non-zero when one of the eight bytes of {@code x} is below 0x20, a quote or a backslash (the
     * classic "has a zero / has less than" bit tricks; bytes from 0x80 up never count, their top bit is set).
     */
    private static long special(long x) {
        return ((x - 0x2020202020202020L) | (x ^ 0x2222222222222222L) - ONES | (x ^ 0x5C5C5C5C5C5C5C5CL) - ONES) & ~x & HIGHS;
    }

    private void escape() {
        switch (b[pos++]) {
            case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> {
            }
            case 'u' -> {
                for (int i = 0; i < 4; i++) {
                    if (Character.digit(b[pos++], 16) < 0) {
                        throw NOT_SURE;
                    }
                }
            }
            default -> throw NOT_SURE;
        }
    }

    private void ws() {
        while (pos < n) {
            byte c = b[pos];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                return;
            }
            pos++;
        }
    }
}
