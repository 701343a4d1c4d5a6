package io.inferencepam.runner.spi;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * A request or response body: bytes first (binary-safe), text on demand. Immutable: the array is
 * owned by this object and never handed out without a copy.
 */
public final class Body {
    private static final Body EMPTY = new Body(new byte[0]);
    private final byte[] bytes;

    private Body(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Takes ownership of {@code bytes}: callers must not modify the array afterwards. */
    public static Body wrap(byte[] bytes) {
        return bytes.length == 0 ? EMPTY : new Body(bytes);
    }

    public static Body copyOf(byte[] bytes) {
        return wrap(bytes.clone());
    }

    public static Body utf8(String text) {
        return wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    public static Body empty() {
        return EMPTY;
    }

    public int length() {
        return bytes.length;
    }

    public boolean isEmpty() {
        return bytes.length == 0;
    }

    public byte[] toByteArray() {
        return bytes.clone();
    }

    /** Read-only view without a copy. */
    public ByteBuffer asReadOnlyBuffer() {
        return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    /** Lenient UTF-8 decoding: malformed sequences become U+FFFD. */
    public String utf8() {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Strict UTF-8 decoding: empty when the bytes are not valid UTF-8 (e.g. a binary body). */
    public Optional<String> strictUtf8() {
        // The JDK's lenient decoder is several times faster than a reporting CharsetDecoder, and
        // it only produces U+FFFD where the input is malformed: a result without one is exactly
        // the strict decoding. Only a body that contains U+FFFD (malformed, or a literal EF BF BD)
        // takes the slow path to tell the two apart.
        String fast = new String(bytes, StandardCharsets.UTF_8);
        if (fast.indexOf('\uFFFD') < 0) {
            return Optional.of(fast);
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Body other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** Never the content: bodies are payloads and must not reach logs. */
    @Override
    public String toString() {
        return "Body[" + bytes.length + " bytes]";
    }
}
