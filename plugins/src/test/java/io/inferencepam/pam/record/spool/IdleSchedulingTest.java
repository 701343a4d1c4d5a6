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

    @Test
    void thePolicyIsReadPastAThreadNameWithSpacesAndParentheses() throws Exception {
        // the kernel's comm is the thread name (15 bytes): /proc/.../stat shows it in parentheses
        OptionalInt p = onNewThread("a) b (c) d", IdleScheduling::policyOfCurrentThread);
        assertThat(p).hasValue(0);
    }

    @Test
    void theAuditWriterThreadRunsUnderSchedIdleWhenAsked() throws Exception {
        AuditWriter w = new AuditWriter(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0),
                new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("idle"), Optional.empty(), new AuditWriter.Settings(100, 16, Duration.ofMillis(2), 50,
                Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO, true), Clock.systemUTC()).start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (w.stats().idleThreads.get() < 1 && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            Thread.sleep(50);
            assertThat(w.stats().idleThreads.get()).as("the writer thread; the store thread stays at normal policy").isEqualTo(1);
            assertThat(w.submit(CanonicalJson.MAPPER.createObjectNode().put("kind", "call").put("id", "r1"))).isTrue();
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
}
