package io.inferencepam.pam.mask.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The SSN anchor read once left to right (issue 13, performance) answers what the former look-back
 * of 24 characters per number answered, for every ascending sequence of positions.
 */
class SsnAnchorsTest {
    private static final String[] PIECES = {"ssn", "SSN", "SsN", "\u017fsn", "social security", "Social Security", "SOCIAL SECURITY",
        "soc", "s", "n", " ", "123456789", ": ", "\u00e9", "x", "12", "\n", "secur"};

    @Property(tries = 1000)
    void readOnceLikeTheLookBack(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int pieces) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < pieces; k++) {
            sb.append(PIECES[r.nextInt(PIECES.length)]);
        }
        String s = sb.toString();
        SsnDetector.Anchors anchors = new SsnDetector.Anchors(s);
        for (int i = r.nextInt(4); i < s.length(); i += 1 + r.nextInt(12)) {
            assertThat(anchors.near(i)).as("position %d of %s", i, s).isEqualTo(lookBack(s, i));
        }
    }

    /** The former per-number look-back. */
    private static boolean lookBack(String s, int i) {
        for (int k = Math.max(0, i - 24); k + 3 <= i; k++) {
            if (s.regionMatches(true, k, "SSN", 0, 3) || s.regionMatches(true, k, "social security", 0, 15)) {
                return true;
            }
        }
        return false;
    }
}
