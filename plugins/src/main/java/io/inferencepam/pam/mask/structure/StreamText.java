package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.Redactor.Replacement;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the replacements planned on a reassembled stream back into its pieces: each token lands in
 * the piece where its value started, and every other character of the value is removed from the
 * piece that held it, so no fragment survives in any chunk.
 */
final class StreamText {
    private StreamText() {
    }

    static List<String> distribute(List<String> pieces, List<Replacement> plan) {
        List<String> out = new ArrayList<>(pieces.size());
        int mi = 0;
        int a = 0;
        String whole = String.join("", pieces);
        for (String piece : pieces) {
            int b = a + piece.length();
            while (mi < plan.size() && plan.get(mi).end() <= a) {
                mi++;
            }
            if (mi == plan.size() || plan.get(mi).start() >= b) {
                // most pieces of a stream hold no part of any value: kept as they are, not copied
                out.add(piece);
                a = b;
                continue;
            }
            StringBuilder sb = new StringBuilder(piece.length());
            int p = a;
            while (p < b) {
                while (mi < plan.size() && plan.get(mi).end() <= p) {
                    mi++;
                }
                if (mi < plan.size() && plan.get(mi).start() <= p) {
                    Replacement r = plan.get(mi);
                    if (p == r.start()) {
                        sb.append(r.token());
                    }
                    p = Math.min(b, r.end());
                } else {
                    int next = mi < plan.size() ? Math.min(b, plan.get(mi).start()) : b;
                    sb.append(whole, p, next);
                    p = next;
                }
            }
            out.add(sb.toString());
            a = b;
        }
        return out;
    }
}
