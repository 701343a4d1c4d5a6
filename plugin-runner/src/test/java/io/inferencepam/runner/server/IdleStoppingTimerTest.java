package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: the call-deadline wheel ticks only while a timeout is pending. The idle check is
 * driven by hand here ({@link IdleStoppingTimer#reap}), so nothing depends on timing.
 */
class IdleStoppingTimerTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger wheels = new AtomicInteger();
    private final IdleStoppingTimer timer = new IdleStoppingTimer(() -> {
        wheels.incrementAndGet();
        return new HashedWheelTimer(r -> new Thread(r, "test-deadline"), 10, TimeUnit.MILLISECONDS);
    }, scheduler, 1, TimeUnit.HOURS); // the scheduled check never runs in a test: reap() by hand

    @AfterEach
    void stop() {
        timer.stop();
        scheduler.shutdownNow();
    }

    private static boolean deadlineThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("test-deadline") && t.isAlive());
    }

    @Test
    void noWheelUntilATimeoutIsArmedAndNoneOnceItWasQuietForAPeriod() throws Exception {
        assertThat(timer.ticking()).isFalse();
        CountDownLatch fired = new CountDownLatch(1);
        timer.newTimeout(t -> fired.countDown(), 1, TimeUnit.MILLISECONDS);
        assertThat(timer.ticking()).isTrue();
        assertThat(fired.await(10, TimeUnit.SECONDS)).isTrue();
        timer.reap(); // armed something since the last check: kept
        assertThat(timer.ticking()).isTrue();
        timer.reap(); // a whole period quiet, nothing pending: stopped
        assertThat(timer.ticking()).isFalse();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (deadlineThreadAlive() && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertThat(deadlineThreadAlive()).as("the wheel's thread ended").isFalse();

        CountDownLatch again = new CountDownLatch(1);
        timer.newTimeout(t -> again.countDown(), 1, TimeUnit.MILLISECONDS);
        assertThat(again.await(10, TimeUnit.SECONDS)).as("the next timeout starts a new wheel").isTrue();
        assertThat(wheels.get()).isEqualTo(2);
    }

    @Test
    void aPendingTimeoutKeepsItsWheelAndStillFires() throws Exception {
        CountDownLatch fired = new CountDownLatch(1);
        timer.newTimeout(t -> fired.countDown(), 300, TimeUnit.MILLISECONDS);
        timer.reap();
        timer.reap();
        assertThat(timer.ticking()).as("pending: not retired").isTrue();
        assertThat(fired.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aCancelledTimeoutNeitherFiresNorKeepsTheWheelForever() throws Exception {
        AtomicInteger fired = new AtomicInteger();
        Timeout t = timer.newTimeout(x -> fired.incrementAndGet(), 1, TimeUnit.HOURS);
        t.cancel();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (timer.ticking() && System.nanoTime() < end) {
            timer.reap(); // the wheel drops the cancelled timeout at its next tick
            Thread.sleep(20);
        }
        assertThat(timer.ticking()).isFalse();
        assertThat(fired.get()).isZero();
    }

    /** Racing arms and retirements: every timeout armed fires exactly once, none is added to a stopped wheel. */
    @Test
    void everyTimeoutArmedWhileWheelsAreRetiredFiresOnce() throws Exception {
        int threads = 4;
        int perThread = 500;
        AtomicInteger fired = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            futures.add(pool.submit(() -> {
                for (int j = 0; j < perThread; j++) {
                    timer.newTimeout(t -> fired.incrementAndGet(), 0, TimeUnit.MILLISECONDS);
                    if (j % 50 == 0) {
                        Thread.yield();
                    }
                }
                return null;
            }));
        }
        while (futures.stream().anyMatch(f -> !f.isDone())) {
            timer.reap();
        }
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (fired.get() < threads * perThread && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertThat(fired.get()).isEqualTo(threads * perThread);
    }

    @Test
    void afterStopNoTimeoutIsAccepted() {
        timer.stop();
        assertThatThrownBy(() -> timer.newTimeout(t -> { }, 1, TimeUnit.MILLISECONDS)).isInstanceOf(IllegalStateException.class);
    }
}
