package io.inferencepam.runner.conf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When a phase declared inline-safe may run on the event loop, from its measured runs there. */
class ChainCostTest {
    private static final long CHEAP = TimeUnit.MICROSECONDS.toNanos(2);
    /** Above the ceiling on every run, but no stall: a phase that is simply too expensive for the loop. */
    private static final long SLOW = TimeUnit.MICROSECONDS.toNanos(200);
    /** A run that looks milliseconds long: the loop thread was descheduled, or the plugin blocked. */
    private static final long STALL = TimeUnit.MILLISECONDS.toNanos(5);

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
        c.recordInline(STALL); // the loop thread was descheduled
        assertThat(c.inlineNext()).isTrue();
    }

    @Test
    void rareStallsOfABusyHostKeepACheapPhaseOnTheLoop() {
        ChainCost c = new ChainCost();
        for (int i = 1; i <= 10_000; i++) {
            c.recordInline(i % 200 == 0 ? STALL : CHEAP);
            assertThat(c.inlineNext()).as("after run %d", i).isTrue();
        }
    }

    /** The capped average alone kept such a plugin on the loop for good (review finding). */
    @Test
    void aPluginThatBlocksOneCallInEightLeavesTheLoopHoweverCheapTheOtherCalls() {
        ChainCost c = new ChainCost();
        long blocking = TimeUnit.MILLISECONDS.toNanos(50);
        int onLoop = 0;
        while (c.inlineNext() && onLoop < 10_000) {
            onLoop++;
            c.recordInline(onLoop % 8 == 0 ? blocking : CHEAP);
        }
        assertThat(onLoop).as("runs on the loop before it left").isLessThanOrEqualTo(64);
        int probes = 0;
        for (int i = 0; i < 1_000; i++) { // even when every probe is cheap, it stays off for a while
            if (c.inlineNext()) {
                probes++;
                c.recordInline(CHEAP);
            }
        }
        assertThat(probes).as("only probes ran on the loop").isLessThanOrEqualTo(1_000 / ChainCost.PROBE_EVERY + 1);
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
