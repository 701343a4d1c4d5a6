package io.inferencepam.pam.mask.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Overlap resolution cluster by cluster (issue 13, performance) decides exactly what precedence
 * over all candidates at once decided: the reference below is the former whole-text resolution.
 */
class DetectorSetResolveTest {

    @Property(tries = 2000)
    void clustersResolveLikeOnePrecedencePass(@ForAll long seed, @ForAll @IntRange(min = 1, max = 60) int count,
            @ForAll @IntRange(min = 5, max = 400) int span) {
        Random r = new Random(seed);
        List<Match> all = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int start = r.nextInt(span);
            int len = 1 + r.nextInt(r.nextBoolean() ? 6 : 40);
            int rank = r.nextInt(5);
            all.add(new Match(start, start + len, "d" + rank, rank));
        }
        all.sort(Comparator.comparingInt(Match::start));
        assertThat(DetectorSet.resolve(all)).containsExactlyElementsOf(reference(all));
    }

    private static List<Match> reference(List<Match> byStart) {
        List<Match> ordered = new ArrayList<>(byStart);
        ordered.sort(Comparator.comparingInt(Match::rank).thenComparing(Comparator.comparingInt(Match::length).reversed())
                .thenComparingInt(Match::start));
        TreeMap<Integer, Match> accepted = new TreeMap<>();
        for (Match m : ordered) {
            var before = accepted.floorEntry(m.start());
            var after = accepted.ceilingEntry(m.start());
            if ((before == null || before.getValue().end() <= m.start()) && (after == null || after.getKey() >= m.end())) {
                accepted.put(m.start(), m);
            }
        }
        return List.copyOf(accepted.values());
    }
}
