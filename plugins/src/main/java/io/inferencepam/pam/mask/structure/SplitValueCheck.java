package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskFailure;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.Redactor.Replacement;
import java.util.List;

/**
 * Fails closed when the strings one JSON path of a stream of unknown shape held, event after event
 * (or line after line), would joined show a value that masking each string alone leaves readable:
 * a value cut across two strings, or one whole in a string but found only with its neighbour's
 * context (an SSN whose "SSN" anchor ends the string before). pam-mask cannot know how a client
 * reassembles a shape it does not know, so it does not rewrite such a stream; it withholds it.
 * The same value on every piece (an id, a model name) is no stream and is not joined.
 */
final class SplitValueCheck {
    private final Redactor redactor;

    SplitValueCheck(Redactor redactor) {
        this.redactor = redactor;
    }

    /** Throws {@code response_stream_shape_unknown} when {@code pieces}, joined, hold such a value. */
    void check(List<String> pieces) {
        if (pieces.size() < 2 || allSame(pieces)) {
            return;
        }
        // the verdict only: what is masked, and counted, is what each piece's own masking found
        List<Replacement> plan = redactor.plan(String.join("", pieces), new MaskTally());
        if (plan.isEmpty()) {
            return;
        }
        int piece = 0;
        int start = 0;
        int end = pieces.get(0).length();
        List<Replacement> alone = null;
        for (Replacement r : plan) {
            while (end <= r.start()) {
                piece++;
                start = end;
                end += pieces.get(piece).length();
                alone = null;
            }
            if (r.end() > end) {
                throw failure();
            }
            if (alone == null) {
                alone = redactor.plan(pieces.get(piece), new MaskTally());
            }
            if (!covered(alone, r.start() - start, r.end() - start)) {
                throw failure();
            }
        }
    }

    private static boolean covered(List<Replacement> plan, int start, int end) {
        for (Replacement p : plan) {
            if (p.start() <= start && p.end() >= end) {
                return true;
            }
        }
        return false;
    }

    private static boolean allSame(List<String> pieces) {
        String first = pieces.get(0);
        for (int i = 1; i < pieces.size(); i++) {
            if (!pieces.get(i).equals(first)) {
                return false;
            }
        }
        return true;
    }

    private static MaskFailure failure() {
        return new MaskFailure(502, "response_stream_shape_unknown",
                "The model's response streamed text in a shape the gateway cannot reassemble, so it was withheld.");
    }
}
