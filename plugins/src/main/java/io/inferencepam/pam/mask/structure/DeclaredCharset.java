package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskFailure;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The charset a Content-Type declares, so bytes are never scanned as the wrong encoding: a body
 * in UTF-16 or Shift_JIS is decoded strictly, masked as text, and written back in its charset;
 * a charset the JVM does not know, bytes that are not valid in it, or a masked text it cannot
 * encode fail closed.
 */
public final class DeclaredCharset {
    private DeclaredCharset() {
    }

    /** The declared charset, or null when none is declared or it is UTF-8 (or its subset US-ASCII). */
    public static Charset of(String contentType) {
        int i = contentType.toLowerCase(Locale.ROOT).indexOf("charset=");
        if (i < 0) {
            return null;
        }
        String name = contentType.substring(i + 8);
        int end = name.indexOf(';');
        name = (end < 0 ? name : name.substring(0, end)).strip();
        if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
            name = name.substring(1, name.length() - 1).strip();
        }
        Charset cs;
        try {
            cs = Charset.forName(name);
        } catch (IllegalArgumentException e) { // IllegalCharsetNameException, UnsupportedCharsetException
            throw unsupported();
        }
        return cs.equals(StandardCharsets.UTF_8) || cs.equals(StandardCharsets.US_ASCII) ? null : cs;
    }

    /** Strictly decoded text (a malformed or unmappable byte fails closed). */
    public static String decode(byte[] bytes, Charset cs) {
        try {
            return cs.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw MaskFailure.unscannable("bytes that are not valid " + cs.name());
        }
    }

    /** The text encoded in {@code cs} (a character it cannot encode fails closed). */
    public static byte[] encode(String text, Charset cs) {
        try {
            ByteBuffer b = cs.newEncoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw MaskFailure.unscannable("a masked text that " + cs.name() + " cannot encode");
        }
    }

    public static MaskFailure unsupported() {
        return new MaskFailure(502, "response_charset_unsupported",
                "The model's response declared a character set the gateway cannot inspect, so it was withheld.");
    }
}
