package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import java.util.HashMap;
import java.util.Map;

/**
 * Masks every line of an event stream that is not a {@code data:} line, as text, line by line.
 *
 * <p>A conforming SSE client ignores comments and unknown fields and keeps {@code event}, {@code id}
 * and {@code retry} to itself, but what reaches a person is the bytes: a client that reads the
 * stream raw (curl, a proxy log, a body APISIX labelled {@code text/plain}, conformance P4b) shows
 * every line. A model asked to begin its answer with {@code data: ok} turns the rest of a plain-text
 * answer into such lines, and a server can put anything in a comment. So no line leaves unscanned;
 * the {@code data:} lines are the structured walk's ({@link SseMasker}).
 *
 * <p>Real streams repeat a handful of these lines ({@code event: content_block_delta},
 * {@code : ping}): each distinct line is judged once per stream.
 */
final class SseOtherLines {
    private SseOtherLines() {
    }

    /** {@code stream} with its non-data lines masked; the same string when none changed. */
    static String mask(String stream, Redactor redactor, MaskTally tally) {
        Map<String, String> judged = new HashMap<>();
        StringBuilder out = null;
        int copied = 0;
        int n = stream.length();
        int i = stream.startsWith("\uFEFF") ? 1 : 0;
        while (i < n) {
            int nl = stream.indexOf('\n', i);
            int lineEnd = nl < 0 ? n : nl;
            int le = lineEnd > i && stream.charAt(lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
            if (le > i && !stream.startsWith("data:", i)) {
                String line = stream.substring(i, le);
                String masked = judged.get(line);
                if (masked == null) {
                    masked = redactor.mask(line, tally);
                    judged.put(line, masked);
                } else if (!masked.equals(line)) {
                    // a repeated line is masked again so that the tally counts every occurrence
                    masked = redactor.mask(line, tally);
                }
                if (!masked.equals(line)) {
                    if (out == null) {
                        out = new StringBuilder(n + 64);
                    }
                    out.append(stream, copied, i).append(masked);
                    copied = le;
                }
            }
            i = nl < 0 ? n : nl + 1;
        }
        return out == null ? stream : out.append(stream, copied, n).toString();
    }
}
