package io.inferencepam.runner.protocol;

import io.github.api7.A6.TextEntry;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A call frame's header (or arg) vector, validated now and turned into Strings only when a plugin
 * reads it ({@link Headers#onDemand}). Most calls of a cheap route never read a header, and
 * decoding every name and value of every call into a String was the largest Java cost of the
 * event loop (issue 15).
 *
 * <p>Validation is the very walk the eager decoder did: the same generated accessors in the same
 * order (so an offset pointing outside the frame fails here, at decode time, as before), and in
 * strict mode the same UTF-8 check of every name and value (so invalid UTF-8 still refuses the
 * frame at decode time). Only the String building is deferred, to data already known valid.
 *
 * <p>Buffer ownership: the frame's bytes are a heap copy made by {@link A6Decoder} (one bulk copy
 * of the payload), never the frame's {@code ByteBuf}, which is released right after decoding as
 * before. The lazy view can therefore cross to plugin threads and outlive the frame freely.
 */
final class FrameEntries {
    /** Per named entry: name offset, name length, value offset (-1: no value), value length. */
    private static final int SPAN = 4;

    private FrameEntries() {
    }

    /**
     * @param s  strings of the frame (its view must be a heap buffer over the frame's copy)
     * @param e  reused entry object; {@code at} positions it on entry i
     * @param n  the vector's declared length
     */
    static Headers read(FlatStrings s, TextEntry e, int n, IntFunction<TextEntry> at) {
        if (n == 0) {
            return Headers.empty();
        }
        int[] spans = new int[SPAN * A6Decoder.capacity(n, s.view())];
        int named = 0;
        for (int i = 0; i < n; i++) {
            at.apply(i);
            ByteBuffer name = e.nameInByteBuffer(s.view());
            if (name == null) {
                continue; // a nameless entry is left out, as before
            }
            int nameOff = name.position();
            int nameLen = name.remaining();
            s.check(nameOff, nameLen);
            ByteBuffer value = e.valueInByteBuffer(s.view());
            int valueOff = -1;
            int valueLen = 0;
            if (value != null) {
                valueOff = value.position();
                valueLen = value.remaining();
                s.check(valueOff, valueLen);
            }
            if (spans.length < SPAN * (named + 1)) {
                spans = Arrays.copyOf(spans, Math.max(SPAN * (named + 1), spans.length * 2));
            }
            int at4 = SPAN * named++;
            spans[at4] = nameOff;
            spans[at4 + 1] = nameLen;
            spans[at4 + 2] = valueOff;
            spans[at4 + 3] = valueLen;
        }
        if (named == 0) {
            return Headers.empty();
        }
        byte[] bytes = s.frame();
        int count = named;
        int[] kept = spans;
        return Headers.onDemand(count, () -> decode(bytes, kept, count));
    }

    /**
     * The entries as Strings. Every span was validated (strict mode) or is decoded with
     * replacement characters (lenient mode), exactly as the eager decoder produced them: the
     * JDK's UTF-8 String constructor yields the same text as a strict decoder for valid input, and
     * a compact Latin-1 String for ASCII.
     */
    private static List<Header> decode(byte[] bytes, int[] spans, int count) {
        List<Header> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int at = SPAN * i;
            String name = new String(bytes, spans[at], spans[at + 1], StandardCharsets.UTF_8);
            String value = spans[at + 2] < 0 ? null : new String(bytes, spans[at + 2], spans[at + 3], StandardCharsets.UTF_8);
            out.add(new Header(name, value));
        }
        return out;
    }
}
