package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonParser;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.detect.KeyContext;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The strings (and integers) of one SSE body that belong to no stream {@link SseMasker} knows: each
 * is masked within its event, and each string is kept by JSON path ({@link PathTexts}) so that
 * {@link SplitValueCheck} can withhold a stream of an unknown shape whose joined text shows a value
 * no single event does. Ids, object and model names repeat in every event: the values with nothing
 * to mask are remembered, so each is scanned once per body. One per masked body.
 */
final class OtherStrings {
    private final JsonMasker json;
    private final PathTexts byPath = new PathTexts();
    private final Set<String> cleanText = new HashSet<>();
    private final Set<String> cleanArgs = new HashSet<>();
    // the last clean value per member name, compared as characters before any String is made
    private final Map<String, char[]> lastClean = new HashMap<>();

    OtherStrings(JsonMasker json) {
        this.json = json;
    }

    /** The strings kept next belong to the next event. */
    void nextEvent() {
        byPath.nextEvent();
    }

    /** The string token {@code parser} stands on, member {@code field}: its masked value, or null when it stays. */
    String mask(JsonParser parser, String field, MaskTally tally) throws IOException {
        char[] chars = parser.getTextCharacters();
        int off = parser.getTextOffset();
        int len = parser.getTextLength();
        byPath.add(parser.getParsingContext(), chars, off, len);
        char[] last = field == null ? null : lastClean.get(field);
        if (last != null && Arrays.equals(last, 0, last.length, chars, off, off + len)) {
            return null;
        }
        String v = parser.getText();
        String m = masked(field, v, tally);
        if (m == null && field != null && len <= 256) {
            lastClean.put(field, Arrays.copyOfRange(chars, off, off + len));
        }
        return m;
    }

    /** A string read earlier, at {@code path}: its masked value, or null when it stays. */
    String mask(String path, String field, String value, MaskTally tally) {
        byPath.add(path, value);
        return masked(field, value, tally);
    }

    private String masked(String field, String value, MaskTally tally) {
        String m = maskCached(field, value, tally);
        return m.equals(value) ? null : m;
    }

    /** {@code value} under {@code field} masked as text (as JSON for "arguments"); a clean one is remembered. */
    String maskCached(String field, String value, MaskTally tally) {
        // "arguments" are masked as JSON, everything else as text: keep the two apart
        boolean arguments = "arguments".equals(field);
        Set<String> clean = arguments ? cleanArgs : cleanText;
        // a value clean under one key can be an SSN or a secret under another: cache context-free keys only
        KeyContext ctx = JsonMasker.contextOf(field);
        boolean keyed = ctx != KeyContext.NONE;
        if (!keyed && (JsonMasker.known(clean, value) || (!arguments && json.knownClean(value)))) {
            return value;
        }
        String m = json.maskString(field, ctx, value, tally);
        if (!keyed && m.equals(value) && value.length() <= JsonMasker.MAX_REMEMBERED && clean.size() < 4096) {
            clean.add(value);
        }
        return m;
    }

    /** Withholds the stream (throws) when a path's strings, joined, show what no single one did. */
    void check(SplitValueCheck check) {
        byPath.forEachVarying(check::check);
    }
}
