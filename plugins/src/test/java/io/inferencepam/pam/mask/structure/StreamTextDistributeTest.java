package io.inferencepam.pam.mask.structure;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.mask.Redactor.Replacement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Pieces no replacement touches are kept as they are instead of rebuilt (issue 13, performance):
 * the result is what the former distribution, below, built piece by piece, on random streams of
 * pieces (empty ones included) and random non-overlapping plans.
 */
class StreamTextDistributeTest {

    @Property(tries = 3000)
    void keepsUntouchedPiecesAndDistributesLikeBefore(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int count) {
        Random r = new Random(seed);
        List<String> pieces = new ArrayList<>();
        StringBuilder whole = new StringBuilder();
        for (int k = 0; k < count; k++) {
            int len = r.nextInt(5) == 0 ? 0 : 1 + r.nextInt(10);
            StringBuilder p = new StringBuilder();
            for (int i = 0; i < len; i++) {
                p.append((char) ('a' + r.nextInt(26)));
            }
            pieces.add(p.toString());
            whole.append(p);
        }
        List<Replacement> plan = new ArrayList<>();
        for (int at = 0; at < whole.length(); ) {
            int start = at + r.nextInt(1 + r.nextInt(20));
            if (start >= whole.length()) {
                break;
            }
            int end = Math.min(whole.length(), start + 1 + r.nextInt(25));
            plan.add(new Replacement(start, end, "d", "[D" + plan.size() + "]"));
            at = end;
        }
        assertThat(StreamText.distribute(pieces, plan)).containsExactlyElementsOf(reference(pieces, plan));
    }

    /** The former distribution: every piece rebuilt. */
    private static List<String> reference(List<String> pieces, List<Replacement> plan) {
        List<String> out = new ArrayList<>(pieces.size());
        int mi = 0;
        int a = 0;
        String whole = String.join("", pieces);
        for (String piece : pieces) {
            int b = a + piece.length();
            StringBuilder sb = new StringBuilder(piece.length());
            int p = a;
            while (p < b) {
                while (mi < plan.size() && plan.get(mi).end() <= p) {
                    mi++;
                }
                if (mi < plan.size() && plan.get(mi).start() <= p) {
                    Replacement x = plan.get(mi);
                    if (p == x.start()) {
                        sb.append(x.token());
                    }
                    p = Math.min(b, x.end());
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
