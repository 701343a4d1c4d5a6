package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inferencepam.runner.conf.ChainCost;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PluginPoolTest {
    private final HashedWheelTimer timer = new HashedWheelTimer(10, TimeUnit.MILLISECONDS);
    private final PluginPool pool = new PluginPool("pp", 2, 4, timer);

    @AfterEach
    void stop() {
        pool.shutdownNow();
        timer.stop();
    }

    @Test
    void aBatchRunsInOrderOnOnePluginThreadWhenNoOtherCanJoin() throws Exception {
        PluginPool pool = new PluginPool("one", 1, 8, timer); // with one thread, sharing cannot reorder anything
        List<String> ran = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(5);
        List<Runnable> tasks = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            tasks.add(() -> {
                ran.add(n + "@" + Thread.currentThread().getName());
                done.countDown();
            });
        }
        pool.executeAll(tasks);
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        String thread = ran.get(0).substring(2);
        assertThat(thread).startsWith("one-");
        assertThat(ran).containsExactly("0@" + thread, "1@" + thread, "2@" + thread, "3@" + thread, "4@" + thread);
        pool.shutdownNow();
    }

    @Test
    void aTaskThatBlocksDoesNotHoldUpTheRestOfItsBatch() throws Exception {
        // The first task waits for the last one: only another thread taking over the rest of the
        // batch (the watchdog) lets it finish.
        CountDownLatch lastRan = new CountDownLatch(1);
        CompletableFuture<Boolean> first = new CompletableFuture<>();
        pool.executeAll(List.of(() -> {
            try {
                first.complete(lastRan.await(5, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                first.complete(false);
            }
        }, () -> { }, lastRan::countDown));
        assertThat(first.get(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aSlowTaskBringsAnotherThreadInForTheRest() throws Exception {
        // A watchdog that never fires: only the rule "after a slow task, share" can bring the second thread in.
        PluginPool pool = new PluginPool("slow", 2, 4, new Timer() {
            @Override
            public Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
                return new Timeout() {
                    public Timer timer() { return null; }
                    public TimerTask task() { return task; }
                    public boolean isExpired() { return false; }
                    public boolean isCancelled() { return false; }
                    public boolean cancel() { return true; }
                };
            }

            @Override
            public java.util.Set<Timeout> stop() {
                return java.util.Set.of();
            }
        });
        List<String> threads = new CopyOnWriteArrayList<>();
        CountDownLatch secondMayFinish = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(3);
        pool.executeAll(List.of(() -> {
            busy(TimeUnit.MICROSECONDS.toNanos(500)); // longer than SHARE_AFTER_NANOS, shorter than the watchdog
            done.countDown();
        }, () -> {
            threads.add(Thread.currentThread().getName());
            awaitQuietly(secondMayFinish); // holds its thread until the third task ran on the other one
            done.countDown();
        }, () -> {
            threads.add(Thread.currentThread().getName());
            secondMayFinish.countDown();
            done.countDown();
        }));
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(threads).hasSize(2).doesNotHaveDuplicates();
        pool.shutdownNow();
    }

    @Test
    void aFullQueueRefusesABatchAndEnterFails() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try {
            saturate(release);
            assertThat(pool.executeAll(List.of(() -> { }))).isZero();
            CompletableFuture<Void> entered = pool.enter(new ChainCost());
            assertThatThrownBy(() -> entered.get(1, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(RejectedExecutionException.class);
        } finally {
            release.countDown();
        }
    }

    @Test
    void callsWaitingInBatchesCountAgainstTheQueueBound() throws Exception {
        PluginPool one = new PluginPool("one", 1, 4, timer);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch ran = new CountDownLatch(4);
        try {
            holdTheOnlyThread(one, release);
            one.executeAll(List.of(ran::countDown, ran::countDown, ran::countDown)); // 3 of 4
            assertThat(one.queueDepth()).isEqualTo(1 + 3);
            // one more call fits the bound: of a batch of two, the first is taken and the second refused
            assertThat(one.executeAll(List.of(ran::countDown, () -> { throw new AssertionError("refused, never run"); })))
                    .isEqualTo(1);
            assertThat(one.executeAll(List.of(() -> { }))).isZero();
        } finally {
            release.countDown();
        }
        assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(one.executeAll(List.of(() -> { }, () -> { }, () -> { }, () -> { }))).isEqualTo(4); // room again once they ran
        one.shutdownNow();
    }

    @Test
    void inlineRunsAtOnceOnAPluginThreadAndHandsOverFromAnyOtherThread() throws Exception {
        String caller = Thread.currentThread().getName();
        CompletableFuture<String> fromOutside = new CompletableFuture<>();
        pool.inline().execute(() -> fromOutside.complete(Thread.currentThread().getName()));
        assertThat(fromOutside.get(5, TimeUnit.SECONDS)).startsWith("pp-").isNotEqualTo(caller);

        CompletableFuture<Boolean> sameThread = new CompletableFuture<>();
        pool.execute(() -> {
            Thread outer = Thread.currentThread();
            pool.inline().execute(() -> sameThread.complete(Thread.currentThread() == outer));
        });
        assertThat(sameThread.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void theLoopHandOffBatchesOnePassAndFailsTheBatchWhenRefused() throws Exception {
        // One thread, held busy: the calls of the pass stay queued where they can be counted. Handed
        // over one by one they would be two queued tasks; as a batch they are one task holding two
        // calls, which queueDepth counts as three. (With two free threads, which thread runs which
        // call depends on timing, since a slow first call brings the second thread in.)
        PluginPool one = new PluginPool("one", 1, 8, timer);
        EmbeddedChannel ch = new EmbeddedChannel();
        CountDownLatch release = new CountDownLatch(1);
        try {
            holdTheOnlyThread(one, release);
            LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), one);
            ChainCost cheap = new ChainCost();
            CompletableFuture<String> a = handOff.enter(cheap).thenApply(v -> Thread.currentThread().getName());
            CompletableFuture<String> b = handOff.enter(cheap).thenApply(v -> Thread.currentThread().getName());
            assertThat(one.queueDepth()).isZero(); // nothing leaves before the loop's pass ends
            ch.runPendingTasks();
            assertThat(one.queueDepth()).isEqualTo(3);
            release.countDown();
            assertThat(a.get(5, TimeUnit.SECONDS)).isEqualTo("one-1");
            assertThat(b.get(5, TimeUnit.SECONDS)).isEqualTo("one-1");
        } finally {
            release.countDown();
            one.shutdownNow();
        }

        LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), pool);
        CountDownLatch hold = new CountDownLatch(1);
        try {
            saturate(hold);
            CompletableFuture<Void> refused = handOff.enter(new ChainCost());
            ch.runPendingTasks();
            assertThatThrownBy(() -> refused.get(1, TimeUnit.SECONDS)).hasCauseInstanceOf(RejectedExecutionException.class);
        } finally {
            hold.countDown();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void aBatchLargerThanTheRoomLeftIsCutNotRefusedWhole() throws Exception {
        PluginPool small = new PluginPool("small", 1, 2, timer);
        EmbeddedChannel ch = new EmbeddedChannel();
        CountDownLatch release = new CountDownLatch(1);
        try {
            holdTheOnlyThread(small, release);
            LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), small);
            List<CompletableFuture<Void>> calls = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                calls.add(handOff.enter(new ChainCost()));
            }
            ch.runPendingTasks(); // one pass, one batch of three; the bound is two
            assertThatThrownBy(() -> calls.get(2).get(1, TimeUnit.SECONDS)).hasCauseInstanceOf(RejectedExecutionException.class);
            release.countDown();
            calls.get(0).get(5, TimeUnit.SECONDS);
            calls.get(1).get(5, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            small.shutdownNow();
            ch.finishAndReleaseAll();
        }
    }

    /** The pool's only thread busy until {@code release}: what is handed over stays queued. */
    private static void holdTheOnlyThread(PluginPool pool, CountDownLatch release) throws InterruptedException {
        CountDownLatch busy = new CountDownLatch(1);
        pool.execute(() -> {
            busy.countDown();
            awaitQuietly(release);
        });
        assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
    }

    /** Both threads busy until {@code release}, and the four queue slots taken. */
    private void saturate(CountDownLatch release) throws InterruptedException {
        CountDownLatch busy = new CountDownLatch(2);
        for (int i = 0; i < 2; i++) {
            pool.execute(() -> {
                busy.countDown();
                awaitQuietly(release);
            });
        }
        assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 4; i++) {
            pool.execute(() -> awaitQuietly(release));
        }
    }

    @Test
    void callsOfASlowPhaseAreHandedOverOneByOneNotBatched() throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel();
        LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), pool);
        ChainCost slow = new ChainCost();
        slow.record(TimeUnit.MILLISECONDS.toNanos(5));
        assertThat(slow.slow()).isTrue();
        // Completes although the loop never runs its pending tasks: the call went straight to the
        // pool (a batched call would wait for the end of the loop's pass).
        handOff.enter(slow).get(5, TimeUnit.SECONDS);
        ch.finishAndReleaseAll();
    }

    @Test
    void theCostEstimateFollowsTheRecentCalls() throws Exception {
        ChainCost cost = new ChainCost();
        for (int i = 0; i < 50; i++) {
            cost.record(TimeUnit.MICROSECONDS.toNanos(5));
        }
        assertThat(cost.slow()).isFalse();
        for (int i = 0; i < 5; i++) {
            cost.record(TimeUnit.MILLISECONDS.toNanos(2));
        }
        assertThat(cost.slow()).isTrue();
        for (int i = 0; i < 60; i++) {
            cost.record(TimeUnit.MICROSECONDS.toNanos(5));
        }
        assertThat(cost.slow()).isFalse(); // a phase that became cheap is batched again

        // The time a call holds its plugin thread is what gets recorded.
        EmbeddedChannel ch = new EmbeddedChannel();
        LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), pool);
        ChainCost measured = new ChainCost();
        CompletableFuture<Void> chain = handOff.enter(measured).thenRun(() -> busy(TimeUnit.MILLISECONDS.toNanos(3)));
        ch.runPendingTasks();
        chain.get(5, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && !measured.slow(); i++) {
            Thread.sleep(10); // recorded right after the chain, on the plugin thread
        }
        assertThat(measured.slow()).isTrue();
        ch.finishAndReleaseAll();
    }

    private static void busy(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
