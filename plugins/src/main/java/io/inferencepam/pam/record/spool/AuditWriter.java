package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.ChainedEntry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit records off the request path. Callers {@link #submit} a record (an offer to a
 * bounded queue; when it is full, an fsynced append to the local {@code overflow} spool). One
 * background thread owns the hash chain: it links records in the order it takes them, then writes
 * them in pipelined batches to the sink. When the sink fails, or while anything is still spooled,
 * linked entries go to the local spool instead, which is drained in order when the store is back
 * (entries a failed batch stored after all are skipped by sequence number). So storage order is
 * chain order, and nothing is lost while the disk holds.
 */
public final class AuditWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditWriter.class);

    /** Counters a caller exposes as metrics. */
    public static final class Stats {
        public final AtomicLong submitted = new AtomicLong();
        public final AtomicLong written = new AtomicLong();
        public final AtomicLong spooled = new AtomicLong();
        public final AtomicLong overflowed = new AtomicLong();
        public final AtomicLong drained = new AtomicLong();
        public final AtomicLong lost = new AtomicLong();
        public final AtomicLong checkpoints = new AtomicLong();
        public final AtomicLong skippedDuplicates = new AtomicLong();
    }

    public record Settings(int queueCapacity, int batchSize, Duration flushInterval, long checkpointEvery,
                           Duration checkpointInterval, Duration maxRetryBackoff) {
    }

    private final AuditSink sink;
    private final Spool spool;
    private final Spool overflow;
    private final HashChain chain;
    private final Optional<CheckpointSigner> signer;
    private final Settings settings;
    private final Clock clock;
    private final BlockingQueue<ObjectNode> queue;
    private final Stats stats = new Stats();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean storeUp = true;
    private long lastCheckpointSeq;
    private long lastCheckpointAt;
    private long retryAt;
    private long backoffMillis = 50;

    private final java.util.concurrent.Executor overflowIo;
    private final java.util.concurrent.atomic.AtomicInteger overflowInFlight = new java.util.concurrent.atomic.AtomicInteger();

    public AuditWriter(AuditSink sink, Spool spool, Spool overflow, HashChain chain, Optional<CheckpointSigner> signer,
                       Settings settings, Clock clock) {
        this(sink, spool, overflow, chain, signer, settings, clock, Runnable::run);
    }

    /**
     * @param overflowIo where overflow appends (file I/O and an fsync) run when the queue is full:
     *                   the runner's blocking executor, so a slow store never parks plugin threads
     *                   on fsync; if it rejects, the append runs in the caller rather than lose the record
     */
    public AuditWriter(AuditSink sink, Spool spool, Spool overflow, HashChain chain, Optional<CheckpointSigner> signer,
                       Settings settings, Clock clock, java.util.concurrent.Executor overflowIo) {
        this.overflowIo = overflowIo;
        this.sink = sink;
        this.spool = spool;
        this.overflow = overflow;
        this.chain = chain;
        this.signer = signer;
        this.settings = settings;
        this.clock = clock;
        this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
        this.lastCheckpointAt = clock.millis();
        this.thread = new Thread(this::loop, "pam-audit-writer");
        thread.setDaemon(true);
    }

    public AuditWriter start() {
        thread.start();
        return this;
    }

    public Stats stats() {
        return stats;
    }

    public String instance() {
        return chain.instance();
    }

    public int queueDepth() {
        return queue.size();
    }

    public boolean storeUp() {
        return storeUp;
    }

    public AuditSink sink() {
        return sink;
    }

    public Spool spool() {
        return spool;
    }

    /**
     * Whether a record submitted now can be made durable somewhere: the store is up, or the local
     * spool accepts appends. Cheap; asked by routes with {@code fail_closed}.
     */
    public boolean canMakeDurable() {
        return running && ((storeUp && queue.remainingCapacity() > 0) || spool.canAccept());
    }

    /** Never blocks on the store. False only when the record could not be kept anywhere (counted as lost). */
    public boolean submit(ObjectNode record) {
        stats.submitted.incrementAndGet();
        if (running && queue.offer(record)) {
            return true;
        }
        overflowInFlight.incrementAndGet();
        try {
            overflowIo.execute(() -> {
                try {
                    appendOverflow(record);
                } finally {
                    overflowInFlight.decrementAndGet();
                }
            });
            return true;
        } catch (java.util.concurrent.RejectedExecutionException e) {
            try {
                return appendOverflow(record);
            } finally {
                overflowInFlight.decrementAndGet();
            }
        }
    }

    private boolean appendOverflow(ObjectNode record) {
        try {
            overflow.append(List.of(CanonicalJson.write(record)));
            stats.overflowed.incrementAndGet();
            return true;
        } catch (IOException e) {
            stats.lost.incrementAndGet();
            LOG.error("audit record lost: queue full and overflow spool refused it ({})", e.getClass().getSimpleName());
            return false;
        }
    }

    private void loop() {
        List<ObjectNode> taken = new ArrayList<>(settings.batchSize());
        while (running || !queue.isEmpty()) {
            try {
                taken.clear();
                ObjectNode first = queue.poll(settings.flushInterval().toMillis(), TimeUnit.MILLISECONDS);
                if (first != null) {
                    taken.add(first);
                    queue.drainTo(taken, settings.batchSize() - 1);
                }
                step(taken);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable t) {
                LOG.error("audit writer step failed: {}", t.getClass().getName());
                sleepQuietly(100);
            }
        }
    }

    /** One round: link what was taken (and any overflow), route it, maybe checkpoint, maybe drain. */
    private void step(List<ObjectNode> taken) throws IOException {
        List<ChainedEntry> linked = new ArrayList<>(taken.size() + 1);
        for (ObjectNode r : taken) {
            linked.add(link(r));
        }
        Spool.Batch over = overflow.hasPending() ? overflow.read(settings.batchSize()) : null;
        if (over != null) {
            for (String line : over.lines()) {
                JsonNode n = readable(line, "overflow");
                if (n instanceof ObjectNode o) {
                    linked.add(link(o));
                }
            }
        }
        maybeCheckpoint(linked, false);
        route(linked);
        if (over != null) {
            overflow.commit(over.endOffset());
        }
        drainIfDue();
    }

    /**
     * A spool line that no longer parses (disk corruption, a torn write) is skipped and counted as
     * lost, with no content in the log. Failing the whole round instead would block every later
     * record behind it forever.
     */
    private JsonNode readable(String line, String file) {
        try {
            return CanonicalJson.parse(line);
        } catch (RuntimeException | IOException e) {
            stats.lost.incrementAndGet();
            LOG.error("audit {} line unreadable ({}): skipped and counted as lost", file, e.getClass().getSimpleName());
            return null;
        }
    }

    private ChainedEntry link(ObjectNode record) {
        String json = chain.linkAndWrite(record);
        return new ChainedEntry(chain.instance(), chain.seq(), json);
    }

    private void maybeCheckpoint(List<ChainedEntry> linked, boolean force) {
        if (signer.isEmpty() || chain.seq() == lastCheckpointSeq) {
            return;
        }
        long now = clock.millis();
        boolean due = force || chain.seq() - lastCheckpointSeq >= settings.checkpointEvery()
                || now - lastCheckpointAt >= settings.checkpointInterval().toMillis();
        if (!due) {
            return;
        }
        ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
        cp.put("kind", "checkpoint");
        cp.put("ts", java.time.Instant.ofEpochMilli(now).toString());
        cp.put("covers_seq", chain.seq());
        chain.link(cp);
        cp.put(HashChain.SIG, signer.get().sign(cp.get(HashChain.HASH).asText()));
        linked.add(new ChainedEntry(chain.instance(), chain.seq(), CanonicalJson.write(cp)));
        lastCheckpointSeq = chain.seq();
        lastCheckpointAt = now;
        stats.checkpoints.incrementAndGet();
    }

    private void route(List<ChainedEntry> linked) {
        if (linked.isEmpty()) {
            return;
        }
        try {
            if (!spool.hasPending() && (storeUp || clock.millis() >= retryAt)) {
                try {
                    sink.write(linked);
                    stats.written.addAndGet(linked.size());
                    if (!storeUp) {
                        LOG.info("audit store ({}) back", sink.kind());
                        storeUp = true;
                        backoffMillis = 50;
                    }
                    return;
                } catch (Exception e) {
                    markDown(e);
                }
            }
            spool.append(lines(linked));
            stats.spooled.addAndGet(linked.size());
        } catch (IOException e) {
            stats.lost.addAndGet(linked.size());
            LOG.error("{} audit entries lost: store down and spool refused them ({})", linked.size(), e.getClass().getSimpleName());
        }
    }

    private void markDown(Exception e) {
        if (storeUp) {
            LOG.warn("audit store ({}) unavailable, spooling locally: {}", sink.kind(), e.getClass().getSimpleName());
        }
        storeUp = false;
        retryAt = clock.millis() + backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, settings.maxRetryBackoff().toMillis());
    }

    /** Drains the spool in order when due; per instance, entries the store already has are skipped. */
    private void drainIfDue() throws IOException {
        if (!spool.hasPending() || (!storeUp && clock.millis() < retryAt)) {
            return;
        }
        Map<String, Long> stored = new HashMap<>();
        try {
            while (spool.hasPending()) {
                Spool.Batch b = spool.read(settings.batchSize());
                List<ChainedEntry> toWrite = new ArrayList<>(b.lines().size());
                for (String line : b.lines()) {
                    JsonNode n = readable(line, "spool");
                    if (n == null) {
                        continue; // the chain shows the gap: verify reports it as deleted
                    }
                    String inst = n.path(HashChain.INSTANCE).asText();
                    long seq = n.path(HashChain.SEQ).asLong();
                    long have = stored.computeIfAbsent(inst, this::highestStored);
                    if (seq <= have) {
                        stats.skippedDuplicates.incrementAndGet();
                        continue;
                    }
                    toWrite.add(new ChainedEntry(inst, seq, line));
                }
                sink.write(toWrite);
                spool.commit(b.endOffset());
                stats.drained.addAndGet(toWrite.size());
                if (b.lines().isEmpty()) {
                    break;
                }
            }
            if (!storeUp) {
                LOG.info("audit store ({}) back; spool drained", sink.kind());
            }
            storeUp = true;
            backoffMillis = 50;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            markDown(e);
        }
    }

    private long highestStored(String instance) {
        try {
            return sink.highestSeq(instance);
        } catch (Exception e) {
            throw new StoreDown(e);
        }
    }

    private static final class StoreDown extends RuntimeException {
        StoreDown(Exception cause) {
            super(null, cause, false, false);
        }
    }

    private static List<String> lines(List<ChainedEntry> entries) {
        List<String> out = new ArrayList<>(entries.size());
        for (ChainedEntry e : entries) {
            out.add(e.json());
        }
        return out;
    }

    /** Blocks until the queue and spool are empty or {@code timeout} passes (tests, shutdown). */
    public boolean awaitIdle(Duration timeout) throws InterruptedException, IOException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (queue.isEmpty() && overflowInFlight.get() == 0 && !spool.hasPending() && !overflow.hasPending() && storeUp) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /**
     * Stops taking records, writes (or spools) what is queued, then a final signed checkpoint.
     * Bounded by {@code timeout}; records still queued after it are appended to the overflow spool
     * so the next start links them.
     */
    public void close(Duration timeout) {
        running = false; // no interrupt: it would close the spool's FileChannel mid-append
        try {
            thread.join(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<ObjectNode> rest = new ArrayList<>();
        queue.drainTo(rest);
        if (thread.isAlive()) {
            for (ObjectNode r : rest) {
                try {
                    overflow.append(List.of(CanonicalJson.write(r)));
                } catch (IOException e) {
                    stats.lost.incrementAndGet();
                }
            }
            return;
        }
        try {
            List<ChainedEntry> linked = new ArrayList<>();
            for (ObjectNode r : rest) {
                linked.add(link(r));
            }
            maybeCheckpoint(linked, true);
            route(linked);
        } catch (RuntimeException e) {
            LOG.warn("final audit flush failed: {}", e.getClass().getSimpleName());
        }
    }

    @Override
    public void close() {
        close(Duration.ofMillis(500));
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
