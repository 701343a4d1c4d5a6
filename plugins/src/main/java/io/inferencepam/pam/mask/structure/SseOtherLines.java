package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import java.util.HashMap;
import java.util.Map;

/**
 * Masks every line of an event stream that is not a {@code data:} line, as text.
 *
 * <p>A conforming SSE client ignores comments and unknown fields and keeps {@code event}, {@code id}
 * and {@code retry} to itself, but what reaches a person is the bytes: a client that reads the
 * stream raw (curl, a proxy log, a body APISIX labelled {@code text/plain}, conformance P4b) shows
 * every line. A model asked to begin its answer with {@code data: ok} turns the rest of a plain-text
 * answer into such lines, and a server can put anything in a comment. So no line leaves unscanned;
 * the {@code data:} lines are the structured walk's ({@link SseMasker}).
 *
 * <p>Consecutive such lines are scanned as one text, line breaks included, as a plain-text body
 * would be: a private key's PEM block or a table whose header names its column ({@code name,ssn})
 * is only recognised across lines. Real streams repeat a handful of short runs
 * ({@code event: content_block_delta}, {@code : ping}): each distinct run is judged once per stream.
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
        int runStart = -1;
        int runEnd = -1;
        while (i <= n) {
            boolean dataLine = i == n || stream.startsWith("data:", i);
            if (dataLine && runStart >= 0) {
                String run = stream.substring(runStart, runEnd);
                String masked = judged.get(run);
                if (masked == null) {
                    masked = redactor.mask(run, tally);
                    judged.put(run, masked);
                } else if (!masked.equals(run)) {
                    // a repeated run is masked again so that the tally counts every occurrence
                    masked = redactor.mask(run, tally);
                }
                if (!masked.equals(run)) {
                    if (out == null) {
                        out = new StringBuilder(n + 64);
                    }
                    out.append(stream, copied, runStart).append(masked);
                    copied = runEnd;
                }
                runStart = -1;
            }
            if (i == n) {
                break;
            }
            int nl = stream.indexOf('\n', i);
            int lineEnd = nl < 0 ? n : nl;
            if (!dataLine) {
                if (runStart < 0) {
                    runStart = i;
                }
                // the run ends before its last line break, which stays where it is
                runEnd = lineEnd > i && stream.charAt(lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
            }
            i = nl < 0 ? n : nl + 1;
        }
        return out == null ? stream : out.append(stream, copied, n).toString();
    }
}
