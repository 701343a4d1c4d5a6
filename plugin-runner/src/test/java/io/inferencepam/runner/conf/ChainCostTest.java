package io.inferencepam.runner.conf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When a phase declared inline-safe may run on the event loop, from its measured runs there. */
class ChainCostTest {
    private static final long CHEAP = TimeUnit.MICROSECONDS.toNanos(2);
    private static final long SLOW = TimeUnit.MILLISECONDS.toNanos(5);

    /** Calls until the next probe, counting the probe: how many hand-offs the phase gets meanwhile + 1. */
    private static int untilProbe(ChainCost c) {
        int n = 1;
        while (!c.inlineNext()) {
            n++;
        }
        return n;
    }

    @Test
    void oneDescheduledRunDoesNotDemoteACheapPhase() {
        ChainCost c = new ChainCost();
        for (int i = 0; i < 50; i++) {
            c.recordInline(CHEAP);
        }
        c.recordInline(SLOW); // looks 5 ms long: the loop thread was descheduled
        assertThat(c.inlineNext()).isTrue();
    }

    @Test
    void aSlowPhaseIsDemotedProbedEverRarerAndComesBackOnceCheap() {
        ChainCost c = new ChainCost();
        int onLoop = 0;
        while (c.inlineNext()) {
            c.recordInline(SLOW);
            onLoop++;
        }
        assertThat(onLoop).isLessThanOrEqualTo(3);
        assertThat(untilProbe(c)).isEqualTo(ChainCost.PROBE_EVERY - 1); // the call that found it demoted counts
        c.recordInline(SLOW);
        assertThat(untilProbe(c)).isEqualTo(2 * ChainCost.PROBE_EVERY);
        for (int i = 0; i < 12; i++) {
            c.recordInline(SLOW);
            untilProbe(c);
        }
        c.recordInline(SLOW);
        assertThat(untilProbe(c)).isEqualTo(ChainCost.PROBE_EVERY_MAX);
        // it got cheap: probes come every 64 calls again, and the phase is back on the loop after a few
        c.recordInline(CHEAP);
        assertThat(untilProbe(c)).isEqualTo(ChainCost.PROBE_EVERY);
        int probes = 1;
        while (true) {
            int calls = untilProbe(c);
            c.recordInline(CHEAP);
            if (calls == 1) { // on the loop at once: no longer demoted
                break;
            }
            probes++;
        }
        assertThat(probes).isLessThan(20);
    }
}
