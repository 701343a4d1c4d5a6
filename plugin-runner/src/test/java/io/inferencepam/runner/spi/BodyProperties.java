package io.inferencepam.runner.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class BodyProperties {
    /** The reference: a reporting decoder, which is what strictUtf8 promises to match. */
    private static Optional<String> strict(byte[] bytes) {
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    @Property(tries = 2000)
    void strictDecodingMatchesAReportingDecoder(@ForAll("utf8ish") byte[] bytes) {
        assertThat(Body.wrap(bytes).strictUtf8()).isEqualTo(strict(bytes));
    }

    @Property(tries = 500)
    void anyTextRoundTrips(@ForAll String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8); // lone surrogates become '?'
        assertThat(Body.wrap(bytes).strictUtf8()).contains(new String(bytes, StandardCharsets.UTF_8));
    }

    /**
     * Valid text, a literal U+FFFD (valid, must be kept), and malformed pieces: stray continuation
     * bytes, truncated sequences, overlong forms, encoded surrogates, bytes above F4.
     */
    @Provide
    Arbitrary<byte[]> utf8ish() {
        Arbitrary<byte[]> piece = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(8).map(s -> s.getBytes(StandardCharsets.UTF_8)),
                Arbitraries.of(new byte[] {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD}, new byte[] {(byte) 0x80},
                        new byte[] {(byte) 0xE2, (byte) 0x82}, new byte[] {(byte) 0xC0, (byte) 0xAF},
                        new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                        new byte[] {(byte) 0xFF}),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(6));
        return piece.list().ofMaxSize(12).map(parts -> {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            parts.forEach(out::writeBytes);
            return out.toByteArray();
        });
    }
}
