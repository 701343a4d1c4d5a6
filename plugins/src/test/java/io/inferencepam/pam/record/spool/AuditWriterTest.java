package io.inferencepam.pam.record.spool;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.StoredEntry;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.ChainedEntry;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditWriterTest {
    @TempDir
    Path dir;

    /** The real file sink, with an outage switch and a record of batch sizes: down (nothing written) or write-then-fail (a lost reply). */
    static final class Outage implements AuditSink {
        final JsonLinesFileSink real;
        volatile boolean down;
        volatile boolean writeThenFail;
        /** While set, write() throws it (an Error, not an Exception: an OutOfMemoryError building the batch). */
        volatile Error error;
        /** While set, write() waits here first (a store that hangs mid-batch). */
        volatile java.util.concurrent.CountDownLatch gate;
        final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        /** The size of each batch written. */
        final List<Integer> sizes = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** The thread of each write (or attempt), and of the one that entered the gate. */
        final List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile String enteredOn;

        Outage(JsonLinesFileSink real) {
            this.real = real;
        }

        @Override
        public String kind() {
            return "file-with-outage";
        }

        @Override
        public void write(List<ChainedEntry> batch) throws Exception {
            threads.add(Thread.currentThread().getName());
            java.util.concurrent.CountDownLatch g = gate;
            if (g != null) {
                enteredOn = Thread.currentThread().getName();
                entered.countDown();
                g.await();
            }
            if (error != null) {
                throw error;
            }
            if (down) {
                throw new java.io.IOException("store down");
            }
            real.write(batch);
            sizes.add(batch.size());
            if (writeThenFail) {
                down = true;
                throw new java.io.IOException("reply lost");
            }
        }

        @Override
        public long highestSeq(String instance) throws Exception {
            if (down) {
                throw new java.io.IOException("store down");
            }
            return real.highestSeq(instance);
        }

        @Override
        public void scan(long from, Predicate<StoredEntry> visitor) throws Exception {
            real.scan(from, visitor);
        }
    }

    static ObjectNode record(int i) {
        ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
        r.put("kind", "call");
        r.put("id", "req-" + i);
        return r;
    }

    static List<String> storedIds(AuditSink sink) throws Exception {
        List<String> ids = new ArrayList<>();
        sink.scan(0, e -> {
            try {
                var n = CanonicalJson.parse(e.json());
                if ("call".equals(n.path("kind").asText())) {
                    ids.add(n.path("id").asText());
                }
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
            return true;
        });
        return ids;
    }

    /** Not started: queue 100, batches of 16, no linger; the spool under the test directory. */
    private AuditWriter unstartedWriter(AuditSink sink, Spool overflow, String instance) throws Exception {
        return new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), overflow, new HashChain(instance), Optional.empty(),
                new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC());
    }

    private AuditWriter writer(AuditSink sink, int queue, Optional<CheckpointSigner> signer) throws Exception {
        return new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("w1"), signer, new AuditWriter.Settings(queue, 16, 50, Duration.ofSeconds(60),
                Duration.ofMillis(50), Duration.ZERO), Clock.systemUTC()).start();
    }

    /**
     * Issue 14: an idle runner wakes no audit thread. Once everything is stored, both threads wait
     * without a timer (WAITING, not TIMED_WAITING) until a record arrives; the next record is
     * still written, and an entry left without a checkpoint still gets one on time (a timer set
     * only while such entries wait). Before: both threads polled every few milliseconds.
     */
    @Test
    void anIdleWriterParksWithoutATimerAndWakesForTheNextRecordAndTheDueCheckpoint() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        String[] keys = CheckpointSigner.generate();
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("idle"), Optional.of(CheckpointSigner.fromPkcs8Base64(keys[0])), new AuditWriter.Settings(100, 16,
                1000, Duration.ofMillis(200), Duration.ofMillis(50), Duration.ofMillis(5)), Clock.systemUTC()).start();
        Thread writer = (Thread) field(w, "serializer");
        Thread store = (Thread) field(w, "storeThread");
        w.submit(record(1));
        await(() -> w.stats().checkpoints.get() == 1, "record 1, then its checkpoint once the interval passed");
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        await(() -> writer.getState() == Thread.State.WAITING && store.getState() == Thread.State.WAITING,
                "both audit threads parked without a timer");
        w.submit(record(2));
        await(() -> w.stats().written.get() >= 3, "the next record woke the writer");
        await(() -> w.stats().checkpoints.get() == 2, "and its checkpoint came on time, with nothing else submitted");
        w.close();
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    static List<StoredEntry> all(AuditSink sink) throws Exception {
        List<StoredEntry> out = new ArrayList<>();
        sink.scan(0, e -> out.add(e));
        return out;
    }

    @Test
    void recordsAreChainedSignedAndWrittenInOrder() throws Exception {
        String[] keys = CheckpointSigner.generate();
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = writer(sink, 1000, Optional.of(CheckpointSigner.fromPkcs8Base64(keys[0])));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            assertThat(w.submit(record(i))).isTrue();
            expected.add("req-" + i);
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactlyElementsOf(expected);
        ChainVerifier.Report r = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(keys[1])), true).verify(all(sink));
        assertThat(r.findings()).isEmpty();
        assertThat(r.instances().get(0).lastSignedSeq()).isEqualTo(r.instances().get(0).lastSeq()); // final checkpoint at close
        assertThat(w.stats().checkpoints.get()).isGreaterThanOrEqualTo(5);
    }

    /**
     * A checkpoint that cannot be signed (here: a key the Ed25519 signer refuses) is already in the
     * chain: it is stored unsigned and counted, and verify reports it; the round's records are
     * written (before, the round was lost uncounted and the chain had a gap).
     */
    @Test
    void aCheckpointThatCannotBeSignedIsStoredUnsignedAndTheRoundIsKept() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        java.security.PrivateKey rsa = java.security.KeyPairGenerator.getInstance("RSA").generateKeyPair().getPrivate();
        AuditWriter w = writer(sink, 1000, Optional.of(CheckpointSigner.of(rsa)));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            assertThat(w.submit(record(i))).isTrue();
            expected.add("req-" + i);
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).as("idle: nothing left outstanding").isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactlyElementsOf(expected);
        assertThat(w.stats().lost.get()).isZero();
        assertThat(w.stats().unsignedCheckpoints.get()).isEqualTo(w.stats().checkpoints.get()).isGreaterThanOrEqualTo(2);
        ChainVerifier.Report r = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(CheckpointSigner.generate()[1])), true)
                .verify(all(sink));
        assertThat(r.findings()).isNotEmpty().allSatisfy(f -> assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.UNSIGNED_CHECKPOINT));
        assertThat(r.instances().get(0).lastSeq()).isEqualTo(120 + w.stats().checkpoints.get()); // no gap
    }

    /**
     * A record that fails on the writer thread with an Error, while being built or while being
     * serialized for the chain (here: nesting deep enough to overflow the stack), is counted lost
     * alone: the others of its round are written, and the chain has no gap (before, the whole
     * round vanished uncounted and the writer never became idle again).
     */
    @Test
    void anErrorOnTheWriterThreadLosesOnlyTheRecordThatThrew() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("w1"), Optional.empty(), new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60),
                Duration.ofMillis(50), Duration.ZERO), Clock.systemUTC());
        ObjectNode deep = record(2);
        ObjectNode n = deep;
        for (int i = 0; i < 200_000; i++) {
            n = n.putObject("x");
        }
        // submitted before the writer starts, so all four are linked in one round
        w.submit(record(1));
        w.submit(deep);
        w.submit(() -> {
            throw new OutOfMemoryError("while building");
        });
        w.submit(record(4));
        w.start();
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).as("idle again: nothing left outstanding").isTrue();
        w.close();
        assertThat(w.stats().lost.get()).isEqualTo(2);
        assertThat(storedIds(sink)).containsExactly("req-1", "req-4");
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    @Test
    void anOutageSpoolsAndDrainsInOrderWithoutLossOrDuplicates() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = writer(sink, 1000, Optional.empty());
        List<String> expected = new ArrayList<>();
        int i = 0;
        for (; i < 100; i++) {
            w.submit(record(i));
            expected.add("req-" + i);
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue();
        sink.writeThenFail = true; // the next batch is stored but the writer does not know it
        for (; i < 300; i++) {
            w.submit(record(i));
            expected.add("req-" + i);
            if (i % 50 == 0) {
                Thread.sleep(5);
            }
        }
        Thread.sleep(100);
        assertThat(w.storeUp()).isFalse();
        assertThat(w.stats().spooled.get()).isPositive();
        assertThat(w.canMakeDurable()).isTrue(); // the spool accepts
        sink.writeThenFail = false;
        sink.down = false;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactlyElementsOf(expected);
        assertThat(w.stats().skippedDuplicates.get()).isPositive();
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    @Test
    void aFullQueueOverflowsToDiskAndNothingIsLost() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.down = true;
        AuditWriter w = writer(sink, 2, Optional.empty());
        for (int i = 0; i < 200; i++) {
            assertThat(w.submit(record(i))).isTrue();
        }
        assertThat(w.stats().overflowed.get()).isPositive();
        sink.down = false;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        List<String> ids = storedIds(sink);
        assertThat(ids).hasSize(200).doesNotHaveDuplicates();
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
        assertThat(w.stats().lost.get()).isZero();
    }

    @Test
    void aCorruptSpoolLineIsSkippedAndCountedNotABlockForEveryLaterRecord() throws Exception {
        java.nio.file.Path overflowDir = dir.resolve("spool/overflow");
        java.nio.file.Files.createDirectories(overflowDir);
        java.nio.file.Files.writeString(overflowDir.resolve("spool.jsonl"), "{\"torn\": tr\n");
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = writer(sink, 1000, Optional.empty());
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            assertThat(w.submit(record(i))).isTrue();
            expected.add("req-" + i);
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactlyElementsOf(expected);
        assertThat(w.stats().lost.get()).isEqualTo(1);
    }

    @Test
    void overflowAppendsRunOnTheGivenExecutorNotTheCallerAndLoseNothing() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.down = true;
        java.util.concurrent.ExecutorService io = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.Set<String> appendThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w1"), Optional.empty(),
                new AuditWriter.Settings(2, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC(), task -> io.execute(() -> {
                    appendThreads.add(Thread.currentThread().getName());
                    task.run();
                })).start();
        for (int i = 0; i < 200; i++) {
            assertThat(w.submit(record(i))).isTrue();
        }
        sink.down = false;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        io.shutdown();
        assertThat(appendThreads).isNotEmpty().doesNotContain(Thread.currentThread().getName());
        assertThat(storedIds(sink)).hasSize(200).doesNotHaveDuplicates();
        assertThat(w.stats().lost.get()).isZero();
    }

    @Test
    void whenStoreAndSpoolAreBothUnavailableItCannotMakeRecordsDurable() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.down = true;
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("tiny"), 200, 0), new Spool(dir.resolve("tiny/o"), 200, 0),
                new HashChain("w2"), Optional.empty(), new AuditWriter.Settings(100, 16, 50,
                Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ZERO), Clock.systemUTC()).start();
        assertThat(w.canMakeDurable()).isTrue();
        for (int i = 0; i < 10; i++) {
            w.submit(record(i));
        }
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while ((w.canMakeDurable() || w.stats().lost.get() == 0) && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertThat(w.canMakeDurable()).isFalse();
        assertThat(w.stats().lost.get()).isPositive(); // and the loss is counted, never silent
        w.close();
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    private static List<Long> seqs(List<StoredEntry> entries, String instance) throws Exception {
        List<Long> out = new ArrayList<>();
        for (StoredEntry e : entries) {
            var n = CanonicalJson.parse(e.json());
            if (instance.equals(n.path("instance").asText())) {
                out.add(n.path("seq").asLong());
            }
        }
        return out;
    }

    @Test
    void theStoreDyingWhileLaterBatchesAreAlreadyHashedSpoolsThemInOrderNoneLostNoneDuplicated() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = writer(sink, 1000, Optional.empty());
        List<String> expected = new ArrayList<>();
        int i = 0;
        for (; i < 40; i++) {
            w.submit(record(i));
            expected.add("req-" + i);
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue();
        sink.gate = new java.util.concurrent.CountDownLatch(1); // the next write hangs...
        w.submit(record(i));
        expected.add("req-" + i++);
        assertThat(sink.entered.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue(); // ...on one record
        for (; i < 100; i++) {
            w.submit(record(i));
            expected.add("req-" + i);
        }
        // ...while the serializer keeps linking and handing off until the hand-off is full, or, when
        // the writer thread stores that batch itself (nothing else was queued), later records wait
        // in the queue until it returns
        int depth = -1;
        while (depth != w.queueDepth()) {
            depth = w.queueDepth();
            Thread.sleep(100);
        }
        if (sink.enteredOn.equals("pam-audit-store")) {
            assertThat(depth).as("records hashed while the store hangs").isLessThan(59);
        } else {
            assertThat(depth).as("records queued while the writer thread waits for the store").isEqualTo(59);
        }
        sink.down = true; // then the store dies under the hanging batch and the ones handed off behind it
        sink.gate.countDown();
        sink.gate = null;
        await(() -> w.stats().spooled.get() >= 60, "the hashed batches to be spooled");
        assertThat(w.stats().written.get()).isEqualTo(40);
        sink.down = false;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactlyElementsOf(expected);
        List<Long> seqs = seqs(all(sink), "w1");
        assertThat(seqs).doesNotHaveDuplicates().isSorted();
        assertThat(seqs).hasSize(100);
        assertThat(w.stats().lost.get()).isZero();
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    @Test
    void closeWithAHungStoreSpoolsTheHeldAndHandedOffBatchesInOrderAndTheNextWriterDrainsThemOnce() throws Exception {
        String[] keys = CheckpointSigner.generate();
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = writer(sink, 1000, Optional.of(CheckpointSigner.fromPkcs8Base64(keys[0])));
        sink.gate = new java.util.concurrent.CountDownLatch(1);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            w.submit(record(i));
            expected.add("req-" + i);
        }
        assertThat(sink.entered.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        w.close(Duration.ofMillis(300)); // the store is stuck in its first write: close takes over
        assertThat(w.stats().lost.get()).isZero();
        assertThat(w.stats().spooled.get()).isPositive();
        java.util.concurrent.CountDownLatch g = sink.gate;
        sink.gate = null;
        g.countDown(); // the hung write completes after all: that batch is now both stored and spooled
        // Until the whole batch is written (sizes is added to after the write returns): seeing
        // its first line is not enough, the next writer would read a partial highest seq.
        await(() -> !sink.sizes.isEmpty(), "the hung batch to land");

        AuditWriter next = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w2"), Optional.empty(),
                new AuditWriter.Settings(1000, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(next.awaitIdle(Duration.ofSeconds(10))).isTrue();
        next.close();
        assertThat(storedIds(sink)).containsExactlyInAnyOrderElementsOf(expected).doesNotHaveDuplicates();
        List<Long> w1 = seqs(all(sink), "w1");
        assertThat(w1).doesNotHaveDuplicates().isSorted();
        assertThat(next.stats().skippedDuplicates.get()).isPositive();
        ChainVerifier.Report r = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(keys[1])), true).verify(all(sink));
        assertThat(r.findings()).isEmpty();
    }

    /**
     * Issue 14: at a moderate rate (nothing else queued, the store thread idle) the writer thread
     * stores its batch itself, so a batch wakes one audit thread, not two. Failed on main: every
     * live write ran on pam-audit-store.
     */
    @Test
    void atAModerateRateTheWriterThreadStoresItsOwnBatches() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ofMillis(5));
        storeThreadWaits(w);
        for (int i = 0; i < 5; i++) {
            w.submit(record(i));
            assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue(); // one record at a time: never more than one queued
        }
        w.close();
        assertThat(sink.threads).isNotEmpty().allMatch("pam-audit-writer"::equals);
        assertThat(storedIds(sink)).containsExactly("req-0", "req-1", "req-2", "req-3", "req-4");
        Thread store = (Thread) field(w, "storeThread");
        assertThat(store.isAlive()).as("the store thread ended with the writer").isFalse();
    }

    /**
     * A write the writer thread makes itself that fails is spooled by it, in chain order, and the
     * store thread (which waited without a timer) is woken to retry and drain: nothing lost, no gap.
     */
    @Test
    void aBatchTheWriterThreadFailsToStoreIsSpooledAndTheStoreThreadDrainsIt() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ofMillis(5));
        storeThreadWaits(w);
        sink.down = true;
        w.submit(record(0));
        await(() -> w.stats().spooled.get() == 1, "the failed batch to be spooled");
        assertThat(sink.threads).last().isEqualTo("pam-audit-writer");
        w.submit(record(1)); // the spool holds entries: this one goes behind them, via the store thread
        await(() -> w.stats().spooled.get() == 2, "the next batch to go behind the spooled one");
        sink.down = false;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).as("the store thread retried and drained, unprompted").isTrue();
        w.close();
        assertThat(storedIds(sink)).containsExactly("req-0", "req-1");
        assertThat(w.stats().lost.get()).isZero();
        assertThat(w.stats().drained.get()).isEqualTo(2);
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    /**
     * close() with the writer thread stuck in a write of its own: that batch is taken over
     * (spooled) like one the store thread holds, nothing is lost, and the next writer drains it
     * once even though the hung write lands after all.
     */
    @Test
    void closeWithTheWriterThreadHungInItsOwnWriteSpoolsThatBatchAndTheNextWriterDrainsItOnce() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ofMillis(5));
        storeThreadWaits(w);
        sink.gate = new java.util.concurrent.CountDownLatch(1);
        w.submit(record(0));
        assertThat(sink.entered.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(sink.enteredOn).isEqualTo("pam-audit-writer");
        w.submit(record(1)); // queued behind the hung write
        w.close(Duration.ofMillis(300));
        assertThat(w.stats().lost.get()).isZero();
        assertThat(w.stats().spooled.get()).as("the hung batch").isEqualTo(1);
        java.util.concurrent.CountDownLatch g = sink.gate;
        sink.gate = null;
        g.countDown(); // the hung write lands after all
        await(() -> !sink.sizes.isEmpty(), "the hung batch to land");
        ((Thread) field(w, "serializer")).join(5000);

        AuditWriter next = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w4"), Optional.empty(),
                new AuditWriter.Settings(100, 16, 1000, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(next.awaitIdle(Duration.ofSeconds(10))).isTrue();
        next.close();
        assertThat(storedIds(sink)).containsExactlyInAnyOrder("req-0", "req-1");
        assertThat(next.stats().skippedDuplicates.get()).isPositive();
        assertThat(seqs(all(sink), "w3")).doesNotHaveDuplicates().isSorted();
    }

    /**
     * A write the writer thread makes itself, hung past close(), touches nothing once it returns:
     * close() spooled that batch and released the spool to whoever starts next, so a final
     * checkpoint linked and spooled afterwards would fork the chain the next runner anchors on.
     * Before the fix the spool grew by that checkpoint after close() had returned.
     */
    @Test
    void aHungWriteOfTheWriterThreadThatFailsAfterCloseAppendsNothingToTheSpool() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        String[] keys = CheckpointSigner.generate();
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w5"),
                Optional.of(CheckpointSigner.fromPkcs8Base64(keys[0])), new AuditWriter.Settings(100, 16, 1000,
                Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ofMillis(5)), Clock.systemUTC()).start();
        storeThreadWaits(w);
        sink.gate = new java.util.concurrent.CountDownLatch(1);
        w.submit(record(0));
        assertThat(sink.entered.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(sink.enteredOn).isEqualTo("pam-audit-writer");
        w.close(Duration.ofMillis(300));
        Thread serializer = (Thread) field(w, "serializer");
        assertThat(serializer.isAlive()).as("still in its write").isTrue();
        java.util.Map<Path, String> atClose = spoolFiles();
        sink.down = true; // the hung write fails after all
        java.util.concurrent.CountDownLatch g = sink.gate;
        sink.gate = null;
        g.countDown();
        serializer.join(5000);
        assertThat(serializer.isAlive()).isFalse();
        assertThat(spoolFiles()).as("spool after close() returned").isEqualTo(atClose);
    }

    private java.util.Map<Path, String> spoolFiles() throws java.io.IOException {
        java.util.Map<Path, String> files = new java.util.TreeMap<>();
        try (var paths = java.nio.file.Files.walk(dir.resolve("spool"))) {
            for (Path p : paths.filter(java.nio.file.Files::isRegularFile).toList()) {
                files.put(p, java.nio.file.Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1));
            }
        }
        return files;
    }

    /** Until the store thread waits for work (it has started): a batch can then be stored by the writer thread. */
    private static void storeThreadWaits(AuditWriter w) throws Exception {
        Thread store = (Thread) field(w, "storeThread");
        await(() -> store.getState() == Thread.State.WAITING, "the store thread to wait for work");
    }

    private AuditWriter lingering(AuditSink sink, Duration linger) throws java.io.IOException {
        return new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("w3"), Optional.empty(), new AuditWriter.Settings(100, 16, 1000,
                Duration.ofSeconds(60), Duration.ofMillis(50), linger), Clock.systemUTC()).start();
    }

    @Test
    void atALowRateTheLingerGathersRecordsIntoOneStoreWrite() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ofMillis(400));
        for (int i = 0; i < 5; i++) {
            w.submit(record(i));
            Thread.sleep(20); // without the linger, each of these would be its own batch
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue();
        assertThat(sink.sizes).containsExactly(5);
        assertThat(storedIds(sink)).containsExactly("req-0", "req-1", "req-2", "req-3", "req-4");
        w.close();
    }

    @Test
    void aFullBatchAndCloseDoNotWaitForTheLinger() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ofSeconds(30));
        for (int i = 0; i < 16; i++) {
            w.submit(record(i));
        }
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).as("a full batch is written at once").isTrue();
        w.submit(record(16));
        long start = System.nanoTime();
        w.close(Duration.ofSeconds(5));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(storedIds(sink)).hasSize(17).endsWith("req-16");
    }

    @Test
    void theBackgroundThreadsAskForTheLowestPriority() throws Exception {
        // Effective with -XX:ThreadPriorityPolicy=1 (nice 4 on Linux): record-keeping yields
        // the CPU to the threads answering APISIX when the cores are busy.
        AuditWriter w = lingering(new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0)), Duration.ZERO);
        List<Thread> audit = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("pam-audit-")).toList();
        assertThat(audit).extracting(Thread::getName).contains("pam-audit-writer", "pam-audit-store");
        assertThat(audit).allSatisfy(t -> assertThat(t.getPriority()).isEqualTo(Thread.MIN_PRIORITY));
        w.close();
    }

    @Test
    void aRecordThatCannotBeBuiltIsCountedLostAndTheChainGoesOn() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ZERO);
        w.submit(record(1));
        w.submit(() -> {
            throw new IllegalStateException("bug while building");
        });
        w.submit(() -> record(3)); // built on the writer thread, when taken
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue();
        assertThat(w.stats().lost.get()).isEqualTo(1);
        assertThat(storedIds(sink)).containsExactly("req-1", "req-3");
        assertThat(new ChainVerifier(Optional.empty(), false).verify(all(sink)).findings()).isEmpty();
        w.close();
    }

    @Test
    void whenMoreThanABatchWaitsTheCallerBuildsTheRecord() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        AuditWriter w = lingering(sink, Duration.ZERO);
        java.util.concurrent.CountDownLatch building = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        List<String> builtOn = new java.util.concurrent.CopyOnWriteArrayList<>();
        w.submit(() -> { // holds the writer thread
            building.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return record(0);
        });
        assertThat(building.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        // The batch size is 16: from the 16th on, a batch is outstanding (15 queued and the one
        // being built), so the caller builds its own record.
        for (int i = 1; i <= 17; i++) {
            int n = i;
            w.submit(() -> {
                builtOn.add(n + "@" + Thread.currentThread().getName());
                return record(n);
            });
        }
        String caller = Thread.currentThread().getName();
        assertThat(builtOn).containsExactly("16@" + caller, "17@" + caller);
        release.countDown();
        assertThat(w.awaitIdle(Duration.ofSeconds(5))).isTrue();
        assertThat(builtOn).hasSize(17).filteredOn(b -> !b.endsWith("@" + caller)).hasSize(15)
                .allSatisfy(b -> assertThat(b).endsWith("@pam-audit-writer"));
        assertThat(storedIds(sink)).hasSize(18).startsWith("req-0", "req-1").endsWith("req-17");
        w.close();
    }

    @Test
    void recordsThatFindTheQueueFullShareOneOverflowAppend() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.gate = new java.util.concurrent.CountDownLatch(1); // the store hangs: the queue (2) fills
        java.util.concurrent.ExecutorService io = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.CountDownLatch ioFree = new java.util.concurrent.CountDownLatch(1);
        io.execute(() -> {
            try {
                ioFree.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        java.util.concurrent.atomic.AtomicInteger tasks = new java.util.concurrent.atomic.AtomicInteger();
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w4"), Optional.empty(),
                new AuditWriter.Settings(2, 2, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC(), task -> {
                    if (!Thread.currentThread().getName().equals("pam-audit-writer")) {
                        tasks.incrementAndGet(); // overflow appends; the writer reads the overflow through this executor too
                    }
                    io.execute(task);
                }).start();
        for (int i = 0; i < 300; i++) {
            assertThat(w.submit(record(i))).isTrue();
        }
        ioFree.countDown();
        await(() -> w.stats().overflowed.get() >= 250, "overflow appended");
        assertThat(tasks.get()).as("one drain for the whole burst").isEqualTo(1);
        sink.gate.countDown();
        sink.gate = null;
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        w.close();
        io.shutdown();
        assertThat(storedIds(sink)).hasSize(300).doesNotHaveDuplicates();
        assertThat(w.stats().lost.get()).isZero();
    }

    /** A writer whose queue (1) is full at once (not started) and whose overflow drains run when the test says. */
    private AuditWriter heldOverflowWriter(long overflowMaxBytes, List<Runnable> held) throws Exception {
        AuditWriter w = new AuditWriter(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0), new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), overflowMaxBytes, 0), new HashChain("w5"), Optional.empty(),
                new AuditWriter.Settings(1, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC(), held::add);
        assertThat(w.submit(record(-1))).isTrue(); // fills the queue
        return w;
    }

    @Test
    void aGroupThatDoesNotFitTheOverflowSpoolKeepsTheRecordsThatDo() throws Exception {
        int line = CanonicalJson.write(record(0)).length() + 1; // same length for req-0..req-4
        List<Runnable> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        AuditWriter w = heldOverflowWriter(3L * line + line / 2, held); // room for 3 of the 5
        for (int i = 0; i < 5; i++) {
            w.submit(record(i));
        }
        assertThat(held).hasSize(1);
        held.get(0).run(); // one group of 5
        // One record at a time (5feca7e) kept 3 and lost 2; the spool had room for those 3.
        assertThat(w.stats().overflowed.get()).isEqualTo(3);
        assertThat(w.stats().lost.get()).isEqualTo(2);
    }

    @Test
    void aRecordThatCannotBeBuiltInARefusedOverflowGroupIsCountedLostOnce() throws Exception {
        List<Runnable> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        AuditWriter w = heldOverflowWriter(0, held); // the overflow spool refuses everything
        w.submit(record(1));
        w.submit(() -> {
            throw new IllegalStateException("bug while building");
        });
        held.get(0).run();
        assertThat(w.stats().lost.get()).as("two records, two lost").isEqualTo(2);
        assertThat(w.stats().overflowed.get()).isZero();
    }

    @Test
    void anErrorWhileDrainingTheOverflowDoesNotStrandLaterRecords() throws Exception {
        List<Runnable> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        AuditWriter w = heldOverflowWriter(1 << 20, held);
        w.submit(() -> {
            throw new StackOverflowError(); // e.g. a deeply nested body, or OutOfMemoryError
        });
        try {
            held.get(0).run();
        } catch (Throwable expected) {
            // whatever the executor does with it
        }
        w.submit(record(2));
        List.copyOf(held.subList(1, held.size())).forEach(Runnable::run); // the drains started since
        assertThat(w.stats().overflowed.get()).as("the later record reaches the overflow spool").isEqualTo(1);
        assertThat(w.stats().lost.get()).as("the one that threw is counted").isEqualTo(1);
    }

    @Test
    void closeAppendsWhatStillWaitsForAnOverflowAppend() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.gate = new java.util.concurrent.CountDownLatch(1); // the store hangs: the queue (2) fills
        java.util.List<Runnable> neverRun = new java.util.concurrent.CopyOnWriteArrayList<>();
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0), overflow,
                new HashChain("w5"), Optional.empty(),
                new AuditWriter.Settings(2, 2, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC(), neverRun::add).start(); // an executor that accepts and never runs: shut down at exit
        for (int i = 0; i < 50; i++) {
            assertThat(w.submit(record(i))).isTrue();
        }
        assertThat(neverRun).hasSize(1);
        sink.gate.countDown(); // the store recovers; the records that found the queue full wait in memory
        sink.gate = null;
        await(() -> w.queueDepth() == 0 && w.stats().written.get() > 0, "queue written");
        w.close(Duration.ofSeconds(2));
        assertThat(w.stats().lost.get()).isZero();
        // every record is somewhere durable: stored, spooled, or in the overflow spool for the next start
        AuditWriter next = new AuditWriter(new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0)),
                new Spool(dir.resolve("spool"), 1 << 24, 0), new Spool(dir.resolve("spool/overflow"), 1 << 24, 0),
                new HashChain("w6"), Optional.empty(),
                new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(next.awaitIdle(Duration.ofSeconds(10))).isTrue();
        next.close();
        assertThat(storedIds(sink)).hasSize(50).doesNotHaveDuplicates();
    }

    /**
     * Under SCHED_IDLE on a saturated host the writer may not run again before the process exits:
     * close() takes over the round it holds (here: stuck building its second record), so those
     * records go to the overflow spool instead of dying with the process; the writer, when it
     * runs again, drops its copy. The next start stores each record once.
     */
    @Test
    void closeTakesOverTheRoundOfAWriterThatDoesNotFinishInTime() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        AuditWriter w = unstartedWriter(sink, overflow, "w8");
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean firstBuild = new java.util.concurrent.atomic.AtomicBoolean(true);
        w.submit(record(1));
        w.submit(() -> {
            if (firstBuild.getAndSet(false)) { // the writer's build stalls; close()'s own build does not
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return record(2);
        });
        w.submit(record(3));
        w.start();
        assertThat(entered.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        w.close(Duration.ofMillis(100));
        assertThat(w.stats().overflowed.get()).as("the round, in the overflow spool").isEqualTo(3);
        release.countDown(); // the writer runs again: its copy of the round is dropped
        Thread.sleep(200);
        assertThat(storedIds(sink)).isEmpty();
        assertThat(w.stats().lost.get()).isZero();

        AuditWriter next = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("w9"), Optional.empty(),
                new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(next.awaitIdle(Duration.ofSeconds(10))).isTrue();
        next.close();
        assertThat(storedIds(sink)).containsExactly("req-1", "req-2", "req-3");
        assertThat(new ChainVerifier(Optional.empty(), true).verify(all(sink)).findings()).isEmpty();
    }

    @Test
    void whenTheExecutorRefusesTheDrainACallerAppendsOneGroupNotEveryonesOverflow() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.gate = new java.util.concurrent.CountDownLatch(1); // the store hangs: the queue (2) fills
        AuditWriter w = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 26, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 26, 0), new HashChain("w7"), Optional.empty(),
                new AuditWriter.Settings(2, 64, 1000, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC(), task -> {
                    throw new java.util.concurrent.RejectedExecutionException("blocking executor full");
                }).start();
        int before = 20;
        for (int i = 0; i < before; i++) {
            w.submit(record(i));
        }
        java.util.concurrent.CountDownLatch inDrain = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread a = new Thread(() -> w.submit(() -> { // overflows; its caller drains and builds it there, slowly
            inDrain.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return record(before);
        }));
        a.start();
        assertThat(inDrain.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        long overflowedBefore = w.stats().overflowed.get();
        int others = 2000; // added by other callers while the first one drains
        for (int i = 0; i < others; i++) {
            w.submit(record(before + 1 + i));
        }
        release.countDown();
        a.join(5000);
        // Its group was what waited when it began: its own record. The 2000 added meanwhile are not
        // its work (before, it went on until nothing waited: 2001).
        assertThat(w.stats().overflowed.get() - overflowedBefore).as("the draining caller appended one group").isEqualTo(1);
        sink.gate.countDown();
        sink.gate = null;
        await(() -> {
            try {
                return storedIds(sink).size() == before + 1 + others;
            } catch (Exception e) {
                return false;
            }
        }, "the rest drained by the writer thread");
        assertThat(storedIds(sink)).doesNotHaveDuplicates();
        assertThat(w.stats().lost.get()).isZero();
        w.close();
    }

    /**
     * A submit that saw the writer running and offers to the queue just after close() drained it
     * (put there by the test seam): the record is taken back to the overflow spool, and the next
     * start stores it. Before, it stayed in the queue, in memory only.
     */
    @Test
    void aSubmitThatOffersAfterCloseDrainedTheQueueGoesToTheOverflowSpool() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        AuditWriter w = writer(sink, 100, Optional.empty());
        assertThat(w.submit(record(1))).isTrue();
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        w.beforeOffer = () -> {
            if (once.compareAndSet(false, true)) {
                w.close(Duration.ofSeconds(2)); // after this submit saw the writer running, before its offer
            }
        };
        assertThat(w.submit(record(2))).isTrue();
        assertThat(w.queueDepth()).as("not left in the queue").isZero();
        AuditWriter next = new AuditWriter(sink, new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 1 << 24, 0), new HashChain("next"), Optional.empty(),
                new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(next.awaitIdle(Duration.ofSeconds(10))).isTrue();
        next.close();
        assertThat(storedIds(sink)).containsExactly("req-1", "req-2");
        assertThat(w.stats().lost.get()).isZero();
    }

    // ---- the round takeover at close() --------------------------------------------------------------

    private static Object field(AuditWriter w, String name) throws Exception {
        java.lang.reflect.Field f = AuditWriter.class.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(w);
    }

    /** Until {@code t} waits to enter a monitor in {@code method} (its top frame). */
    private static void awaitBlocked(Thread t, String method) throws InterruptedException {
        await(() -> {
            StackTraceElement[] st = t.getStackTrace();
            return t.getState() == Thread.State.BLOCKED && st.length > 0 && st[0].getMethodName().equals(method);
        }, t.getName() + " blocked on a monitor in " + method);
    }

    static List<String> pendingLines(Spool s) throws Exception {
        return s.read(Integer.MAX_VALUE).lines();
    }

    /**
     * A round in which one record failed to build (counted lost by the writer) and the writer then
     * stalls: close() takes the whole round over and builds every record again, so the failed one
     * must not be counted lost a second time.
     */
    @Test
    void aTakenOverRoundCountsARecordThatFailedToBuildLostOnce() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        AuditWriter w = unstartedWriter(sink, overflow, "wa");
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean firstBuild = new java.util.concurrent.atomic.AtomicBoolean(true);
        w.submit(() -> {
            throw new IllegalStateException("bug while building");
        });
        w.submit(() -> {
            if (firstBuild.getAndSet(false)) {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return record(2);
        });
        w.start();
        assertThat(entered.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        w.close(Duration.ofMillis(100));
        release.countDown();
        Thread serializer = (Thread) field(w, "serializer");
        serializer.join(5000);
        assertThat(serializer.isAlive()).isFalse();
        assertThat(w.stats().overflowed.get()).isEqualTo(1);
        assertThat(w.stats().lost.get()).as("one record could not be built: lost once").isEqualTo(1);
    }

    /**
     * A round whose every record failed to build is settled (counted lost) but was left as the
     * writer's "current round"; when the writer then stalls in a later round that took no record
     * (here: reading the overflow spool), close() took that stale round over and counted the
     * record lost again, and outstanding went below zero.
     */
    @Test
    void aRoundWhoseRecordsAllFailedIsNotTakenOverAgainAtClose() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        AuditWriter w = unstartedWriter(sink, overflow, "wb").start();
        w.submit(() -> {
            throw new IllegalStateException("bug while building");
        });
        assertThat(w.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(w.stats().lost.get()).isEqualTo(1);
        Thread serializer = (Thread) field(w, "serializer");
        synchronized (overflow) { // the writer's next overflow read waits here: it stalls holding no record
            overflow.append(List.of(CanonicalJson.write(record(7))));
            java.util.concurrent.locks.LockSupport.unpark(serializer); // as an overflow append does: the writer parks until work arrives
            awaitBlocked(serializer, "read");
            w.close(Duration.ofMillis(100));
            assertThat(w.stats().lost.get()).as("the failed record is not counted again").isEqualTo(1);
            assertThat(((java.util.concurrent.atomic.AtomicLong) field(w, "outstanding")).get()).isZero();
            assertThat(pendingLines(overflow)).hasSize(1);
        }
        serializer.join(5000); // done with the temporary directory
        assertThat(serializer.isAlive()).isFalse();
    }

    /**
     * The writer took records from the queue and stalls before it publishes them as its round
     * (here: on the lock it publishes them under). close() must still find every record: when it
     * returns, each submitted record is in the store, a spool or counted lost, not only in the
     * memory of a thread that may never run again before the process exits.
     */
    @Test
    void closeFindsRecordsTheWriterTookButHadNotYetPublishedAsItsRound() throws Exception {
        JsonLinesFileSink sink = new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0);
        Spool spool = new Spool(dir.resolve("spool"), 1 << 24, 0);
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        AuditWriter w = new AuditWriter(sink, spool, overflow, new HashChain("wc"),
                Optional.empty(), new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60),
                Duration.ofMillis(50), Duration.ZERO), Clock.systemUTC());
        for (int i = 0; i < 3; i++) {
            w.submit(record(i));
        }
        Object handoffLock = field(w, "handoff");
        Thread serializer = (Thread) field(w, "serializer");
        synchronized (handoffLock) {
            w.start();
            awaitBlocked(serializer, "serializeLoop");
            w.close(Duration.ofMillis(100));
            long kept = storedIds(sink).size() + pendingLines(spool).size() + pendingLines(overflow).size() + w.stats().lost.get();
            assertThat(kept).as("records in the store, a spool, or counted lost when close() returns").isEqualTo(3);
        }
        serializer.join(5000); // the writer runs again: it must not add a second copy
        assertThat(serializer.isAlive()).isFalse();
        assertThat(storedIds(sink).size() + pendingLines(spool).size() + pendingLines(overflow).size()).isEqualTo(3);
    }

    /**
     * fail_closed asks canMakeDurable(). With the queue full (a writer under SCHED_IDLE on a
     * saturated host falls behind by design), a record goes to the overflow spool, not to the
     * spool: when the overflow spool refuses it, the record is lost, so a route with fail_closed
     * must refuse the call, even though the store is up and the (other) spool has room.
     */
    @Test
    void withTheQueueFullAndTheOverflowSpoolRefusingItCannotMakeRecordsDurable() throws Exception {
        AuditWriter w = new AuditWriter(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0), new Spool(dir.resolve("spool"), 1 << 24, 0),
                new Spool(dir.resolve("spool/overflow"), 10, 0), new HashChain("wg"), Optional.empty(),
                new AuditWriter.Settings(1, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()); // not started: the queue (1) stays full
        w.submit(record(1));
        w.submit(record(2)); // refused by the overflow spool (10 bytes)
        assertThat(w.stats().lost.get()).isEqualTo(1);
        assertThat(w.canMakeDurable()).as("the next record would be lost too").isFalse();
        w.close();
    }

    // ---- overflow lines at close() ----------------------------------------------------------------

    /**
     * The writer linked overflow lines into a batch the store hangs on; close() spools that batch
     * (takeOver), which releases the writer to commit the overflow, but under SCHED_IDLE it may
     * not run before the process exits (here: it waits for the overflow monitor). The lines are
     * then both in the spool and still pending in the overflow spool: the next start stores the
     * spooled entries and links the overflow lines again under new sequence numbers, so the
     * record is stored twice (the drain's skip by sequence number cannot see it).
     */
    @Test
    void anOverflowLineSpooledByCloseIsNotAlsoLeftPendingInTheOverflowSpool() throws Exception {
        Outage sink = new Outage(new JsonLinesFileSink(dir.resolve("out"), 1 << 20, 0));
        sink.gate = new java.util.concurrent.CountDownLatch(1);
        Spool spool = new Spool(dir.resolve("spool"), 1 << 24, 0);
        Spool overflow = new Spool(dir.resolve("spool/overflow"), 1 << 24, 0);
        overflow.append(List.of(CanonicalJson.write(record(9))));
        AuditWriter w = new AuditWriter(sink, spool, overflow, new HashChain("wf"), Optional.empty(),
                new AuditWriter.Settings(100, 16, 50, Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ZERO),
                Clock.systemUTC()).start();
        assertThat(sink.entered.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Thread serializer = (Thread) field(w, "serializer");
        try {
            synchronized (overflow) {
                w.close(Duration.ofMillis(100));
                await(() -> serializer.getState() == Thread.State.BLOCKED, "the writer waits for the overflow monitor");
                long copies = java.util.stream.Stream.concat(pendingLines(spool).stream(), pendingLines(overflow).stream())
                        .filter(l -> l.contains("\"req-9\"")).count();
                assertThat(copies).as("copies of req-9 left for the next start").isEqualTo(1);
            }
        } finally {
            sink.gate.countDown();
        }
        serializer.join(5000);
        assertThat(serializer.isAlive()).isFalse();
        assertThat(java.util.stream.Stream.concat(pendingLines(spool).stream(), pendingLines(overflow).stream())
                .filter(l -> l.contains("\"req-9\"")).count()).as("and once the writer ran again").isEqualTo(1);
    }
}
