package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real kernel, real chrt: the policy is read back from /proc, per thread. */
class IdleSchedulingTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void linuxOnly() {
        assumeTrue(Files.isDirectory(Path.of("/proc/thread-self")), "SCHED_IDLE is Linux-only");
    }

    /** Runs {@code body} on a new thread named {@code name} and returns what it returned. */
    private static <T> T onNewThread(String name, java.util.function.Supplier<T> body) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(body.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.start();
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aThreadPutsItselfUnderSchedIdleAndOnlyItself() throws Exception {
        OptionalInt mine = IdleScheduling.policyOfCurrentThread();
        assertThat(mine).hasValue(0); // SCHED_OTHER
        Object[] r = onNewThread("idle-test", () -> {
            IdleScheduling.Outcome o = IdleScheduling.applyToCurrentThread();
            return new Object[] {o, IdleScheduling.policyOfCurrentThread(), IdleScheduling.applyToCurrentThread()};
        });
        assertThat(((IdleScheduling.Outcome) r[0]).applied()).as(r[0].toString()).isTrue();
        assertThat((OptionalInt) r[1]).hasValue(IdleScheduling.SCHED_IDLE);
        assertThat(((IdleScheduling.Outcome) r[2]).detail()).isEqualTo("already");
        assertThat(IdleScheduling.policyOfCurrentThread()).as("the caller is untouched").hasValue(0);
    }

    /**
     * Another thread moves an idle thread to SCHED_OTHER and back where the process may raise
     * priorities (root in CI); without that privilege the raise is refused and nothing changes.
     */
    @Test
    void anotherThreadRaisesAnIdleThreadAndLowersItAgainWhenPermitted() throws Exception {
        withIdleThread(id -> {
            Path stat = Path.of("/proc/self/task", id, "stat");
            assertThat(IdleScheduling.policyOf(stat)).hasValue(IdleScheduling.SCHED_IDLE);
            if (!IdleScheduling.setPolicy(id, true)) {
                assertThat(IdleScheduling.policyOf(stat)).as("refused: unchanged").hasValue(IdleScheduling.SCHED_IDLE);
                return null;
            }
            assertThat(IdleScheduling.policyOf(stat)).hasValue(0);
            assertThat(IdleScheduling.setPolicy(id, false)).isTrue();
            assertThat(IdleScheduling.policyOf(stat)).hasValue(IdleScheduling.SCHED_IDLE);
            return null;
        });
    }

    /** Whether this process may move a thread out of SCHED_IDLE (CAP_SYS_NICE). */
    private static boolean mayRaise() throws Exception {
        return withIdleThread(id -> id != null && IdleScheduling.setPolicy(id, true));
    }

    /** Runs {@code body} with the id of a live thread that put itself under SCHED_IDLE. */
    private static <T> T withIdleThread(java.util.function.Function<String, T> body) throws Exception {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        CompletableFuture<String> tid = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            IdleScheduling.applyToCurrentThread();
            tid.complete(IdleScheduling.ownThreadIdOfCurrentThread().orElse(null));
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "idle-peer");
        t.start();
        try {
            return body.apply(tid.get(10, TimeUnit.SECONDS));
        } finally {
            done.countDown();
            t.join(5000);
        }
    }

    @Test
    void thePolicyIsReadPastAThreadNameWithSpacesAndParentheses() throws Exception {
        // the kernel's comm is the thread name (15 bytes): /proc/.../stat shows it in parentheses
        OptionalInt p = onNewThread("a) b (c) d", IdleScheduling::policyOfCurrentThread);
        assertThat(p).hasValue(0);
    }

    @Test
    void theAuditWriterThreadRunsUnderSchedIdleWhenAsked() throws Exception {
        AuditWriter w = idleWriter(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0), "idle", 100);
        try {
            awaitIdleWriter(w);
            Thread.sleep(50);
            assertThat(w.stats().idleThreads.get()).as("the writer thread; the store thread stays at normal policy").isEqualTo(1);
            assertThat(w.submit(call("r1"))).isTrue();
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).as("records still get written").isTrue();
            assertThat(w.stats().written.get()).isEqualTo(1);
        } finally {
            w.close();
        }
    }

    /**
     * chrt takes a thread id of this process's pid namespace; a /proc mounted from another one
     * (a sandbox that shares its parent's /proc) would hand it the id of some other thread, which
     * would then be lowered to SCHED_IDLE for good. Only an id under this process's own pid is used.
     */
    @Test
    void onlyAThreadIdUnderThisProcesssOwnPidIsHandedToChrt() throws Exception {
        long pid = ProcessHandle.current().pid();
        String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
        assertThat(IdleScheduling.ownThreadId(link, pid)).as(link).isNotNull();
        assertThat(IdleScheduling.ownThreadId(pid + "/task/4242", pid)).isEqualTo("4242");
        assertThat(IdleScheduling.ownThreadId((pid + 1) + "/task/4242", pid)).as("another namespace's pid").isNull();
        assertThat(IdleScheduling.ownThreadId(pid + "/task/42 42", pid)).isNull();
        assertThat(IdleScheduling.ownThreadId("4242", pid)).isNull();
    }

    /**
     * A SCHED_IDLE writer that gets no CPU (here: stuck in the build of its round's record) while
     * the queue fills: past half the queue, a writer at normal priority replaces it, starting
     * after the idle writer's round; every record is stored once, in order, on one chain.
     */
    @Test
    void aStarvedIdleWriterIsReplacedByAWriterAtNormalPriority() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = idleWriter(sink, "esc", 8);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        try {
            awaitIdleWriter(w);
            submitStuck(w, "r0", release);
            Thread idle = serializerOf(w);
            for (int i = 1; i <= 5; i++) {
                assertThat(w.submit(call("r" + i))).isTrue(); // the fifth puts the queue (8) past half
            }
            Thread normal = serializerOf(w);
            assertThat(normal).as("a new writer thread").isNotSameAs(idle);
            assertThat(normal.isAlive()).isTrue();
            release.countDown(); // the idle writer finishes its round and retires
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
            idle.join(5000);
            assertThat(idle.isAlive()).as("the idle writer retired").isFalse();
            assertThat(w.stats().idleThreads.get()).isZero();
            for (int i = 6; i < 10; i++) {
                assertThat(w.submit(call("r" + i))).isTrue();
            }
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        } finally {
            release.countDown(); // also when an assertion failed: close() would build r0 again
            w.close();
        }
        assertThat(AuditWriterTest.storedIds(sink)).containsExactly("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
        assertThat(new ChainVerifier(Optional.empty(), true).verify(AuditWriterTest.all(sink)).findings()).isEmpty();
    }

    @Test
    void theRunDelayOfAThreadIsReadFromItsSchedstat() throws Exception {
        java.nio.file.Path stat = IdleScheduling.schedstatOfCurrentThread().orElseThrow();
        java.util.OptionalLong before = IdleScheduling.runDelayNanos(stat);
        assertThat(before).isPresent();
        assertThat(before.getAsLong()).isNotNegative();
        long x = 0;
        for (int i = 0; i < 50_000_000; i++) {
            x += i; // run a little: the counters move on, never back
        }
        assertThat(IdleScheduling.runDelayNanos(stat).getAsLong()).as("sum " + x).isGreaterThanOrEqualTo(before.getAsLong());
        assertThat(IdleScheduling.runDelayNanos(dir.resolve("missing"))).isEmpty();
    }

    /**
     * The watchdog: an idle writer whose run delay (time runnable without a CPU) grew by 300 ms
     * or more since the last check, with records queued, is starved, however short the queue:
     * without the privilege to raise it, a writer at normal priority replaces it (the test hides
     * the writer's thread id, so this path runs under root too). The writer's schedstat is a file
     * the test writes (real starvation depends on the machine; the kernel side is read above).
     */
    @Test
    void theWatchdogReplacesAnIdleWriterThatWaitsForACpu() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = idleWriter(sink, "dog", 1000);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        try {
            awaitIdleWriter(w);
            java.nio.file.Path fake = dir.resolve("schedstat");
            watchThrough(w, fake, true); // and as if the thread could not be raised
            Thread idle = serializerOf(w);
            submitStuck(w, "s0", release); // the idle writer's round, stuck: stands for one that gets no CPU
            w.submit(call("s1")); // one record waits: far from half the queue (1000)

            java.nio.file.Files.writeString(fake, "5000000 1000000000 40\n");
            w.checkStarvation(); // first sample
            java.nio.file.Files.writeString(fake, "5000000 1200000000 41\n"); // +200 ms waiting for a CPU
            w.checkStarvation();
            assertThat(serializerOf(w)).as("200 ms is not starving").isSameAs(idle);
            java.nio.file.Files.writeString(fake, "5000000 1600000000 42\n"); // +400 ms
            w.checkStarvation();
            Thread normal = serializerOf(w);
            assertThat(normal).as("replaced").isNotSameAs(idle);
            release.countDown();
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
            idle.join(5000);
            assertThat(w.stats().idleThreads.get()).isZero();
            assertThat(w.stats().written.get()).isEqualTo(2);

            // the starvation is over: after CALM_CHECKS checks with an empty queue, an idle writer again
            for (int i = 1; i < AuditWriter.CALM_CHECKS; i++) {
                w.checkStarvation();
            }
            assertThat(serializerOf(w)).as("not yet").isSameAs(normal);
            w.checkStarvation();
            Thread idleAgain = serializerOf(w);
            assertThat(idleAgain).isNotSameAs(normal);
            awaitIdleWriter(w);
            normal.join(5000);
            assertThat(normal.isAlive()).as("the normal writer retired").isFalse();
            assertThat(w.submit(call("s2"))).isTrue();
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
            assertThat(w.stats().written.get()).isEqualTo(3);
        } finally {
            release.countDown();
            w.close();
        }
    }

    /**
     * Where the runner may raise priorities (root in CI), the watchdog raises the starved writer
     * itself to normal priority: its stuck round goes on at once instead of a replacement waiting
     * for it, and after the calm checks the same thread goes back under SCHED_IDLE.
     */
    @Test
    void theWatchdogRaisesAStarvedIdleWriterInPlaceWhenPermitted() throws Exception {
        assumeTrue(mayRaise(), "needs CAP_SYS_NICE (root) to leave SCHED_IDLE");
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = idleWriter(sink, "raise", 1000);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        try {
            awaitIdleWriter(w);
            java.nio.file.Path fake = dir.resolve("schedstat");
            Path writerStat = Path.of("/proc/self/task", watchThrough(w, fake, false).tid(), "stat");
            Thread writer = serializerOf(w);
            submitStuck(w, "s0", release);
            w.submit(call("s1"));
            java.nio.file.Files.writeString(fake, "5000000 1000000000 40\n");
            w.checkStarvation();
            java.nio.file.Files.writeString(fake, "5000000 1400000000 41\n"); // +400 ms waiting for a CPU
            w.checkStarvation();
            assertThat(serializerOf(w)).as("the same thread").isSameAs(writer);
            assertThat(IdleScheduling.policyOf(writerStat)).as("raised").hasValue(0);
            assertThat(w.stats().idleThreads.get()).isZero();
            for (int i = 0; i < 600; i++) { // past half the queue while raised: no replacement on top
                w.submit(call("q" + i));
            }
            assertThat(serializerOf(w)).isSameAs(writer);
            release.countDown();
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
            assertThat(w.stats().written.get()).isEqualTo(602);
            for (int i = 0; i < AuditWriter.CALM_CHECKS; i++) {
                w.checkStarvation();
            }
            assertThat(serializerOf(w)).isSameAs(writer);
            assertThat(IdleScheduling.policyOf(writerStat)).as("back under SCHED_IDLE").hasValue(IdleScheduling.SCHED_IDLE);
            assertThat(w.stats().idleThreads.get()).isEqualTo(1);
            assertThat(w.submit(call("s2"))).isTrue();
            assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
            assertThat(w.stats().written.get()).isEqualTo(603);
        } finally {
            release.countDown();
            w.close();
        }
        assertThat(AuditWriterTest.storedIds(sink)).hasSize(603).startsWith("s0", "s1", "q0").endsWith("q599", "s2");
    }

    /** The writer thread of the moment. */
    private static Thread serializerOf(AuditWriter w) throws Exception {
        java.lang.reflect.Field f = AuditWriter.class.getDeclaredField("serializer");
        f.setAccessible(true);
        return (Thread) f.get(w);
    }

    /**
     * Points the watchdog at {@code fake} instead of the writer's schedstat (real starvation
     * depends on the machine) and, with {@code hideTid}, hides the writer's thread id (as where it
     * cannot be raised). Returns the writer's real state.
     */
    private static AuditWriter.IdleWriter watchThrough(AuditWriter w, Path fake, boolean hideTid) throws Exception {
        java.lang.reflect.Field f = AuditWriter.class.getDeclaredField("idleWriter");
        f.setAccessible(true);
        AuditWriter.IdleWriter real = (AuditWriter.IdleWriter) f.get(w);
        f.set(w, new AuditWriter.IdleWriter(real.thread(), fake, hideTid ? null : real.tid(), real.counted()));
        return real;
    }

    /** A started writer asking for SCHED_IDLE, batches of 4, over the real file sink. */
    private AuditWriter idleWriter(JsonLinesFileSink sink, String instance, int queue) throws Exception {
        return new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain(instance), Optional.empty(), new AuditWriter.Settings(queue, 4, Duration.ofMillis(2), 1000,
                Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO, true), Clock.systemUTC()).start();
    }

    private static void awaitIdleWriter(AuditWriter w) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (w.stats().idleThreads.get() < 1 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertThat(w.stats().idleThreads.get()).isEqualTo(1);
    }

    /** Submits a record whose build waits for {@code release}, and waits until the writer is in it. */
    private static void submitStuck(AuditWriter w, String id, java.util.concurrent.CountDownLatch release) throws InterruptedException {
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        w.submit(() -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return call(id);
        });
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode call(String id) {
        return CanonicalJson.MAPPER.createObjectNode().put("kind", "call").put("id", id);
    }
}
