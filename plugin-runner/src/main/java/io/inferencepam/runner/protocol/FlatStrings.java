package io.inferencepam.runner.protocol;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads FlatBuffers strings (and byte vectors) of one frame straight from the frame's buffer.
 *
 * <p>Why not the generated accessors ({@code name()}, {@code path()}): FlatBuffers' Java UTF-8
 * decoder walks the bytes one by one into a {@code char[]} and then builds the String from it —
 * two allocations and a char-by-char loop for every header name and value of every call. Here the
 * generated {@code *InByteBuffer} accessors only position a view; ASCII (nearly every header) becomes
 * a compact String in one bulk copy, anything else is decoded strictly: invalid UTF-8 still fails
 * the frame as malformed, as the generated accessors did.
 *
 * <p>One instance per decoded frame, confined to the decoding thread.
 */
final class FlatStrings {
    private final ByteBuffer view;
    private byte[] scratch = new byte[128];
    private CharsetDecoder strict;
    private final boolean lenient;

    /**
     * @param lenient decode invalid UTF-8 with replacement characters instead of failing the frame:
     *                used for upstream response headers, which the upstream (and through it, a
     *                client) controls — a malformed response frame would make APISIX send the
     *                original, unmasked body (conformance P6)
     */
    FlatStrings(ByteBuffer frame, boolean lenient) {
        this.view = frame.duplicate();
        this.lenient = lenient;
    }

    /** The view to pass to a generated {@code fooInByteBuffer(view)} accessor. */
    ByteBuffer view() {
        return view;
    }

    /** The string the accessor positioned {@code v} on; null if the field is absent ({@code v} null). */
    String string(ByteBuffer v) {
        if (v == null) {
            return null;
        }
        int len = v.remaining();
        byte[] bytes;
        int off;
        if (v.hasArray()) {
            bytes = v.array();
            off = v.arrayOffset() + v.position();
        } else {
            if (scratch.length < len) {
                scratch = new byte[Math.max(len, scratch.length * 2)];
            }
            v.get(v.position(), scratch, 0, len);
            bytes = scratch;
            off = 0;
        }
        for (int i = off, end = off + len; i < end; i++) {
            if (bytes[i] < 0) {
                return utf8(bytes, off, len);
            }
        }
        return new String(bytes, off, len, StandardCharsets.ISO_8859_1); // ASCII: one copy, Latin-1 compact
    }

    /**
     * Checks the string at {@code [off, off + len)} of the frame's heap copy as {@link #string} would
     * decode it: in strict mode, invalid UTF-8 fails the frame now (the String itself is built later,
     * {@link FrameEntries}); lenient mode accepts any bytes. ASCII, nearly every header, is checked
     * eight bytes at a time.
     */
    void check(int off, int len) {
        if (lenient) {
            return;
        }
        byte[] bytes = frame();
        int i = off;
        int end = off + len;
        for (; i + Long.BYTES <= end; i += Long.BYTES) {
            if (((long) LONGS.get(bytes, i) & 0x8080808080808080L) != 0) {
                utf8(bytes, off, len);
                return;
            }
        }
        for (; i < end; i++) {
            if (bytes[i] < 0) {
                utf8(bytes, off, len);
                return;
            }
        }
    }

    /** The frame's heap copy, which {@link #view()} wraps from index 0. */
    byte[] frame() {
        return view.array();
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /** The bytes the accessor positioned {@code v} on, copied; null if the field is absent. */
    byte[] bytes(ByteBuffer v) {
        if (v == null) {
            return null;
        }
        byte[] out = new byte[v.remaining()];
        v.get(v.position(), out, 0, out.length);
        return out;
    }

    private String utf8(byte[] bytes, int off, int len) {
        if (lenient) {
            return new String(bytes, off, len, StandardCharsets.UTF_8);
        }
        if (strict == null) {
            strict = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
        }
        try {
            CharBuffer chars = strict.reset().decode(ByteBuffer.wrap(bytes, off, len));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("invalid UTF-8 in a string field");
        }
    }
}
