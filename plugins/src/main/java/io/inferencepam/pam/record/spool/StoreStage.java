package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code pam-audit-store} thread: takes linked batches from the {@link Handoff} in chain order
 * and writes each to the sink (one pipelined write), or to the local spool when the sink fails
 * or anything is still spooled; drains the spool in order once the sink is back (entries the
 * store already holds are skipped by sequence number). So storage order is chain order.
 * It waits without a timer while nothing is handed off and nothing is spooled; with entries
 * spooled and the store down, it retries with a backoff up to {@code maxBackoff}.
 */
final class StoreStage implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(StoreStage.class);
    static final long FIRST_BACKOFF_MILLIS = 50;

    private final AuditSink sink;
    private final Spool spool;
    private final Handoff handoff;
    private final AuditWriter.Stats stats;
    private final Clock clock;
    private final int batchSize;
    private final Duration maxBackoff;
    /** This writer's chain: spooled entries of it advance the durable head as they are drained. */
    private final String instance;
    private volatile AuditWriter.DurableHeads durableHeads = (head, inStore) -> { };
    private volatile boolean up = true;
    // this stage's thread only, or the chain stage's while it stores a batch itself (storeHere)
    private long retryAt;
    private long backoffMillis = FIRST_BACKOFF_MILLIS;

    StoreStage(AuditSink sink, Spool spool, Handoff handoff, AuditWriter.Stats stats, Clock clock, int batchSize,
               Duration maxBackoff, String instance) {
        this.sink = sink;
        this.spool = spool;
        this.handoff = handoff;
        this.stats = stats;
        this.clock = clock;
        this.batchSize = batchSize;
        this.maxBackoff = maxBackoff;
        this.instance = instance;
    }

    void onDurable(AuditWriter.DurableHeads heads) {
        this.durableHeads = heads;
    }

    /** Whether the sink accepted the last write. */
    boolean up() {
        return up;
    }

    @Override
    public void run() {
        while (true) {
            try {
                Handoff.Batch b = handoff.next(retryWaitMillis());
                if (b == Handoff.END || b == Handoff.ABANDONED) {
                    return; // done, or close() took over what was left
                }
                if (b != null) {
                    route(b);
                }
                if (handoff.abandoned()) {
                    return; // the spool now belongs to whoever starts next; two drainers would duplicate
                }
                drainIfDue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Throwable t) {
                LOG.error("audit store step failed: {}", t.getClass().getName());
                sleepQuietly(100);
            }
        }
    }

    /** 0 (no timer) unless spooled entries wait for the store to come back: then until the next retry. */
    private long retryWaitMillis() {
        if (!spool.hasPending()) {
            return 0;
        }
        return Math.max(1, retryAt - clock.millis());
    }

    void route(Handoff.Batch b) {
        try {
            storeOrSpool(b);
        } finally {
            handoff.done(b);
        }
    }

    /**
     * {@link #route} on the chain stage's thread, for a batch {@link Handoff#storeHereLocked} gave
     * it: this stage's thread waits meanwhile, so the two never write at once (the fields this
     * stage keeps are handed between them by the hand-off's monitor). If the batch had to be
     * spooled, this stage's thread is woken to retry and drain.
     */
    void storeHere(Handoff.Batch b) {
        try {
            storeOrSpool(b);
        } finally {
            handoff.doneHere(b, spool.hasPending());
        }
    }

    private void storeOrSpool(Handoff.Batch b) {
        List<ChainedEntry> linked = b.entries;
        if (!spool.hasPending() && (up || clock.millis() >= retryAt)) {
            boolean stored = false;
            try {
                write(linked);
                stored = true;
            } catch (Exception | Error e) {
                // an Error too (an OutOfMemoryError while building the pipeline): the batch is
                // spooled below, never dropped by the step's catch-all, which would leave a gap
                markDown(e);
            }
            if (stored) {
                stats.written.addAndGet(linked.size());
                reportDurable(b.head, true);
                back(null);
                return;
            }
        }
        synchronized (handoff) {
            if (!b.takenOver && spoolOrCountLost(linked)) { // else close() has spooled it already
                reportDurable(b.head, false);
            }
        }
    }

    /** One sink write (one pipelined round trip), counted with its size once it succeeded. */
    private void write(List<ChainedEntry> entries) throws Exception {
        sink.write(entries);
        if (!entries.isEmpty()) {
            stats.sinkWrite(entries.size());
        }
    }

    /** Appends entries to the spool; counted lost if it refuses them. */
    boolean spoolOrCountLost(List<ChainedEntry> linked) {
        try {
            List<String> lines = new ArrayList<>(linked.size());
            for (ChainedEntry e : linked) {
                lines.add(e.json());
            }
            spool.append(lines);
            stats.spooled.addAndGet(linked.size());
            return true;
        } catch (IOException e) {
            stats.lost.addAndGet(linked.size());
            LOG.error("{} audit entries lost: store down and spool refused them ({})", linked.size(), e.getClass().getSimpleName());
            return false;
        }
    }

    /** The chain head up to which entries are durable; a failure to record it never stops the writer. */
    void reportDurable(ChainHead head, boolean inStore) {
        if (head == null || head.seq() == 0) {
            return;
        }
        try {
            durableHeads.durable(new ChainHead(head.instance(), head.seq(), head.hash(), clock.millis()), inStore);
        } catch (IOException | RuntimeException e) {
            LOG.error("audit chain head could not be recorded locally ({}): the next start re-anchors on the store",
                    e.getClass().getSimpleName());
        }
    }

    private void back(String how) {
        if (!up) {
            LOG.info("audit store ({}) back{}", sink.kind(), how == null ? "" : how);
        }
        up = true;
        backoffMillis = FIRST_BACKOFF_MILLIS;
    }

    private void markDown(Throwable e) {
        if (up) {
            LOG.warn("audit store ({}) unavailable, spooling locally: {}", sink.kind(), causes(e));
        }
        up = false;
        retryAt = clock.millis() + backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, Math.max(1, maxBackoff.toMillis()));
    }

    /** Exception class names down the cause chain (no messages: they may carry a URL with a password). */
    private static String causes(Throwable e) {
        StringBuilder sb = new StringBuilder(e.getClass().getSimpleName());
        for (Throwable c = e.getCause(); c != null && c != e && sb.length() < 200; c = c.getCause()) {
            sb.append(" <- ").append(c.getClass().getSimpleName());
        }
        return sb.toString();
    }

    /** Drains the spool in order when due; per instance, entries the store already has are skipped. */
    void drainIfDue() throws IOException {
        if (!spool.hasPending() || (!up && clock.millis() < retryAt)) {
            return;
        }
        Map<String, Long> stored = new HashMap<>();
        ChainHead drainedHead = null;
        try {
            while (spool.hasPending() && !handoff.abandoned()) {
                Spool.Batch b = spool.read(batchSize);
                List<ChainedEntry> toWrite = new ArrayList<>(b.lines().size());
                for (String line : b.lines()) {
                    JsonNode n = readable(line, "spool", stats);
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
                    if (inst.equals(instance)) {
                        drainedHead = new ChainHead(inst, seq, n.path(HashChain.HASH).asText(), 0);
                    }
                }
                write(toWrite);
                reportDurable(drainedHead, true);
                for (ChainedEntry e : toWrite) {
                    stored.merge(e.instance(), e.seq(), Math::max); // a line spooled twice is written once
                }
                spool.commit(b.endOffset());
                stats.drained.addAndGet(toWrite.size());
                if (b.lines().isEmpty()) {
                    break;
                }
            }
            back("; spool drained");
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            markDown(e);
        }
    }

    private long highestStored(String inst) {
        try {
            return sink.highestSeq(inst);
        } catch (Exception e) {
            throw new StoreDown(e);
        }
    }

    private static final class StoreDown extends RuntimeException {
        StoreDown(Exception cause) {
            super(null, cause, false, false);
        }
    }

    /**
     * A spool line that no longer parses (disk corruption, a torn write) is skipped and counted as
     * lost, with no content in the log. Failing the whole round instead would block every later
     * record behind it forever.
     */
    static JsonNode readable(String line, String file, AuditWriter.Stats stats) {
        try {
            return CanonicalJson.parse(line);
        } catch (RuntimeException | IOException e) {
            stats.lost.incrementAndGet();
            LOG.error("audit {} line unreadable ({}): skipped and counted as lost", file, e.getClass().getSimpleName());
            return null;
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
