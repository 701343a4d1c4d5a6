package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonStreamContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The strings of one buffered stream that lie outside the streams pam-mask knows, by JSON path
 * ("candidates[].content.parts[].text", member names joined by '.', any array element as "[]"),
 * in stream order: what {@link SplitValueCheck} joins. A path whose value repeats unchanged (the
 * id, object and model of every OpenAI chunk) keeps one copy and a count, so the common stream
 * pays a map lookup and a comparison per string, and no path string for members of the event
 * object itself.
 */
final class PathTexts {
    private static final class Texts {
        final char[] first;
        int repeats = 1;
        int lastEvent;
        /** Every string in order, once the path held two different ones. */
        List<String> all;

        Texts(char[] first) {
            this.first = first;
        }
    }

    private final Map<String, Texts> byPath = new LinkedHashMap<>();
    private int event;

    /** The strings added next belong to the next event (or line). */
    void nextEvent() {
        event++;
    }

    /** The string {@code chars[off, off + len)} the parser stands on, in {@code context} (the parser's). */
    void add(JsonStreamContext context, char[] chars, int off, int len) {
        add(path(context), chars, off, len);
    }

    void add(String path, String text) {
        add(path, text.toCharArray(), 0, text.length());
    }

    private void add(String path, char[] chars, int off, int len) {
        Texts t = byPath.get(path);
        if (t == null) {
            t = new Texts(Arrays.copyOfRange(chars, off, off + len));
            t.lastEvent = event;
            byPath.put(path, t);
            return;
        }
        if (t.lastEvent == event && path.indexOf('[') < 0) {
            // a member name repeated in one object: a client's parser keeps one of the values, so
            // they are not pieces of one text (each is still masked where it is)
            return;
        }
        t.lastEvent = event;
        if (t.all == null) {
            if (Arrays.equals(t.first, 0, t.first.length, chars, off, off + len)) {
                t.repeats++;
                return;
            }
            t.all = new ArrayList<>(Math.max(4, 2 * t.repeats));
            String first = new String(t.first);
            for (int i = 0; i < t.repeats; i++) {
                t.all.add(first);
            }
        }
        t.all.add(new String(chars, off, len));
    }

    /** Each path's strings, for the paths that held two different ones. */
    void forEachVarying(Consumer<List<String>> action) {
        for (Texts t : byPath.values()) {
            if (t.all != null) {
                action.accept(t.all);
            }
        }
    }

    static String path(JsonStreamContext c) {
        JsonStreamContext parent = c.getParent();
        if (c.inObject() && parent != null && parent.inRoot()) {
            return c.getCurrentName();
        }
        StringBuilder sb = new StringBuilder(48);
        append(c, sb);
        return sb.toString();
    }

    private static void append(JsonStreamContext c, StringBuilder sb) {
        if (c == null || c.inRoot()) {
            return;
        }
        append(c.getParent(), sb);
        if (c.inArray()) {
            sb.append("[]");
        } else {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(c.getCurrentName());
        }
    }
}
