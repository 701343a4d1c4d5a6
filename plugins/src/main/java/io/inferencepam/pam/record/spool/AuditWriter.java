package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.UnlinkedEntry;
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
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit records off the request path. Callers {@link #submit} a record (an offer to a
 * bounded queue; when it is full, an fsynced append to the local {@code overflow} spool). Two
 * background threads share the work, so serialization overlaps the store's I/O:
 * <ul>
 *   <li>{@code pam-audit-writer} owns the hash chain: it takes records in queue order, links them
 *       (canonical JSON as UTF-8, SHA-256) and hands the linked batch on;</li>
 *   <li>{@code pam-audit-store} takes the batches in hand-off order (one FIFO, at most
 *       {@link #HANDOFF_BATCHES} ahead) and writes them in pipelined batches to the sink.</li>
 * </ul>
 * When the sink fails, or while anything is still spooled, linked entries go to the local spool
 * instead, which is drained in order when the store is back (entries a failed batch stored after
 * all are skipped by sequence number). So storage order is chain order, and nothing is lost while
 * the disk holds.
 */
public final class AuditWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditWriter.class);
    /** How many linked batches the serializer may run ahead of the store thread (bounded memory). */
    static final int HANDOFF_BATCHES = 4;

    /** Counters a caller exposes as metrics. */
    public static final class Stats {
        public final AtomicLong submitted = new AtomicLong();
        public final AtomicLong written = new AtomicLong();
        public final AtomicLong spooled = new AtomicLong();
        public final AtomicLong overflowed = new AtomicLong();
        public final AtomicLong drained = new AtomicLong();
        public final AtomicLong lost = new AtomicLong();
        public final AtomicLong checkpoints = new AtomicLong();
        public final AtomicLong unsignedCheckpoints = new AtomicLong();
        public final AtomicLong skippedDuplicates = new AtomicLong();
        /** 1 when the writer thread runs under SCHED_IDLE. */
        public final AtomicInteger idleThreads = new AtomicInteger();
    }

    /**
     * @param linger how long the serializer lets a batch that is not full gather more records
     *               before linking it: at low rates this turns one store round trip (and two
     *               thread wake-ups) per record into one per batch; zero links whatever is queued at once
     * @param idleThreads whether the writer (serializer) thread puts itself under {@code SCHED_IDLE}
     *                    ({@link IdleScheduling}) when it starts; both threads run at the lowest Java priority either way
     */
    public record Settings(int queueCapacity, int batchSize, Duration flushInterval, long checkpointEvery,
                           Duration checkpointInterval, Duration maxRetryBackoff, Duration linger, boolean idleThreads) {
        /** Threads at the lowest Java priority only (tests, benchmarks of the writer alone). */
        public Settings(int queueCapacity, int batchSize, Duration flushInterval, long checkpointEvery,
                        Duration checkpointInterval, Duration maxRetryBackoff, Duration linger) {
            this(queueCapacity, batchSize, flushInterval, checkpointEvery, checkpointInterval, maxRetryBackoff, linger, false);
        }
    }

    /**
     * A record that is built when the writer takes it: callers hand over what they know (cheap),
     * and the building, like the linking, runs on the writer's low-priority thread.
     */
    @FunctionalInterface
    public interface Record {
        ObjectNode build();

        /**
         * The record in canonical form, ready to link. Records that know their facts write it
         * directly ({@link io.inferencepam.pam.record.chain.JcsWriter}: no tree); this default
         * serializes the tree {@link #build} makes.
         */
        default UnlinkedEntry unlinked() {
            return UnlinkedEntry.of(build());
        }
    }

    /** Linked entries on their way from the serializer to the store thread. */
    private static final class Batch {
        final List<ChainedEntry> entries;
        final CountDownLatch routed = new CountDownLatch(1);
        /** Set under {@link #handoffLock} when close() spooled this batch while the store thread held it. */
        boolean takenOver;
        boolean finished;
        /** Where the overflow lines linked into this batch end, or -1: committed once it is durable. */
        long overflowEnd = -1;
        /** The chain head after this batch's last entry: reported to {@link #durableHeads} once the batch is durable. */
        ChainHead head;

        Batch(List<ChainedEntry> entries) {
            this.entries = entries;
        }
    }

    private static final Batch END = new Batch(List.of());

    private final AuditSink sink;
    private final Spool spool;
    private final Spool overflow;
    private final HashChain chain;
    private final Optional<CheckpointSigner> signer;
    private final Settings settings;
    private final Clock clock;
    /** Lock-free: see {@link LockFreeBoundedQueue} for why. */
    private final LockFreeBoundedQueue<Record> queue;
    private final Stats stats = new Stats();
    /** The writer thread: the SCHED_IDLE one, or the normal-priority one that replaced it ({@link #escalateIfStarved}). */
    private volatile Thread serializer;
    /** Held by a writer for each round, so a replacing writer starts only after the round the idle one is in. */
    private final java.util.concurrent.locks.ReentrantLock rounds = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.atomic.AtomicBoolean escalated = new java.util.concurrent.atomic.AtomicBoolean();
    /**
     * A writer thread that put itself under SCHED_IDLE: its schedstat file (for {@link #checkStarvation}),
     * its thread id (the watchdog may raise that thread itself), and whether {@code idleThreads}
     * counts it: every change of the count flips this flag first, so racing changes count once.
     */
    record IdleWriter(Thread thread, java.nio.file.Path schedstat, String tid, java.util.concurrent.atomic.AtomicBoolean counted) {
    }

    /** The current idle writer, once it runs under SCHED_IDLE. */
    private volatile IdleWriter idleWriter;
    /** Set (under {@link #modeLock}) while the idle writer itself was raised to normal priority, not replaced. */
    private boolean raisedInPlace;
    /** One mode change at a time off the timer thread (they start a process). */
    private final java.util.concurrent.atomic.AtomicBoolean modeChange = new java.util.concurrent.atomic.AtomicBoolean();
    /** The idle writer's run delay at the last {@link #checkStarvation}, or -1. */
    private volatile long lastRunDelay = -1;
    /** Watchdog checks in a row that found the queue empty while escalated. */
    private volatile int calmChecks;
    /** Checks (about a second apart) with an empty queue before an idle writer takes over again. */
    static final int CALM_CHECKS = 10;
    /** Orders the writer replacements (to normal priority, back to idle). */
    private final Object modeLock = new Object();
    /** Waiting this long for a CPU between two checks (about a second apart), with records queued, is starving. */
    static final long STARVED_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private final Thread store;
    private volatile boolean started;
    private volatile boolean running = true;
    private volatile boolean storeUp = true;
    // the writer holding rounds only
    private long lastCheckpointSeq;
    private long lastCheckpointAt;
    // store thread only
    private long retryAt;
    private long backoffMillis = 50;

    /** Guards the hand-off FIFO, {@link #inFlight} and {@link #abandoned}. */
    private final Object handoffLock = new Object();
    private final ArrayDeque<Batch> handoff = new ArrayDeque<>();
    private Batch inFlight;
    /** close() timed out on a stuck store: it spooled what was handed off; later batches are spooled directly. */
    private volatile boolean abandoned;
    /** Records accepted by the queue and not yet handed off (linked) in a batch. */
    private final AtomicLong outstanding = new AtomicLong();
    /** Batches handed off and not yet stored, spooled or counted lost. */
    private final AtomicInteger batchesInFlight = new AtomicInteger();

    /** Records that found the queue full, waiting for a grouped append to the overflow spool. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Record> overflowPending = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicBoolean overflowDraining = new java.util.concurrent.atomic.AtomicBoolean();
    /** At most this many records per overflow append. */
    private static final int OVERFLOW_GROUP = 1024;

    /**
     * The records the serializer took for its current round, until their batch is handed off
     * (written and read under {@link #handoffLock}). close() takes them over when the serializer
     * does not finish in time: under SCHED_IDLE on a saturated host it may not run again before
     * the process exits, and they would be lost with it.
     */
    private List<Record> inRound = List.of();
    /** Set under {@link #handoffLock} when close() took {@link #inRound} over: the serializer drops that round. */
    private boolean roundTakenOver;
    /**
     * Set under {@link #handoffLock} when close() gave up waiting for the serializer: it takes no
     * more records from the queue (close() drains it), but what it holds that close() did not take
     * (a final checkpoint, overflow lines) still goes on, to the spool.
     */
    private boolean takeNoMore;

    /** While the serializer lingers: how many queued records complete its batch (0 otherwise). */
    private volatile int awaited;

    private final Executor overflowIo;
    private final AtomicInteger overflowInFlight = new AtomicInteger();
    /**
     * The overflow offset up to which lines are durable (stored or spooled) but not yet committed,
     * or -1. Set when their batch is finished, by whichever thread finishes it, and committed by
     * whoever takes it first: the writer, or close() when the writer may not run again.
     */
    private final AtomicLong overflowCommitDue = new AtomicLong(-1);
    /** Tests only: runs in submit() between its check of {@code running} and its offer, to put close() exactly there. */
    volatile Runnable beforeOffer;

    /** Told which chain head is durable (stored, or spooled) after each batch: the local chain head file. */
    @FunctionalInterface
    public interface DurableHeads {
        void durable(ChainHead head, boolean inStore) throws IOException;
    }

    /** Set before {@link #start}; never null. */
    private DurableHeads durableHeads = (head, inStore) -> { };
    /** Fields of the signed checkpoint that opens this lifetime's part of the chain (its anchor), until written. */
    private ObjectNode opening;

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
                       Settings settings, Clock clock, Executor overflowIo) {
        this.overflowIo = overflowIo;
        this.sink = sink;
        this.spool = spool;
        this.overflow = overflow;
        this.chain = chain;
        this.signer = signer;
        this.settings = settings;
        this.clock = clock;
        this.queue = new LockFreeBoundedQueue<>(settings.queueCapacity());
        this.lastCheckpointAt = clock.millis();
        this.serializer = writerThread(settings.idleThreads());
        this.store = new Thread(this::storeLoop, "pam-audit-store");
        store.setDaemon(true);
        store.setPriority(Thread.MIN_PRIORITY);
    }

    private Thread writerThread(boolean idle) {
        Thread t = new Thread(() -> serializeLoop(idle), "pam-audit-writer");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        return t;
    }

    public synchronized AuditWriter start() {
        if (!started) {
            started = true;
            store.start();
            serializer.start();
        }
        return this;
    }

    /** Before {@link #start}: where durable chain heads are reported ({@link ChainHeadFile}). */
    public AuditWriter onDurable(DurableHeads heads) {
        this.durableHeads = heads;
        return this;
    }

    /**
     * Before {@link #start}: the writer's first entry is a signed checkpoint carrying these fields
     * (the anchor that links this lifetime to the previous one, {@code ChainAnchor}), before any record.
     */
    public AuditWriter opensWith(ObjectNode fields) {
        this.opening = fields.deepCopy();
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
     * Whether a record submitted now can be made durable somewhere: with room in the queue, the
     * store is up or the local spool accepts appends; with the queue full, the overflow spool
     * accepts appends. Cheap, lock-free; asked by routes with {@code fail_closed}.
     */
    public boolean canMakeDurable() {
        if (!running) {
            return false;
        }
        // A record that finds the queue full goes to the overflow spool, not to the spool: under
        // SCHED_IDLE on a saturated host the queue is full for as long as the saturation lasts.
        boolean queued = queue.size() < settings.queueCapacity();
        return queued ? storeUp || spool.canAccept() : overflow.canAccept();
    }

    /** {@link #submit(Record)} of a record that is already built. */
    public boolean submit(ObjectNode record) {
        return submit(() -> record);
    }

    /**
     * Never blocks on the store. False only when the record could not be kept anywhere (counted as lost).
     * While the writer keeps up, the record is built on the writer's thread; once more than a
     * batch is waiting, the caller builds it here: that slows the callers down a little instead
     * of letting a writer that runs at low priority fall further behind, until the queue is full
     * and records take the much slower overflow path.
     */
    public boolean submit(Record submitted) {
        stats.submitted.incrementAndGet();
        Record record = outstanding.get() < settings.batchSize() ? submitted : builtHere(submitted);
        if (record == null) {
            return false;
        }
        if (running) {
            outstanding.incrementAndGet(); // before the offer: awaitIdle must never see it nowhere
            Runnable hook = beforeOffer;
            if (hook != null) {
                hook.run();
            }
            boolean queued = queue.offer(record);
            if (queued && !running && queue.remove(record)) {
                // close() began after the check above and may have drained the queue already: the
                // record would stay in memory only. Taken back (exactly one of close() and this
                // remove gets it), it goes the overflow way below.
                queued = false;
            }
            if (queued) {
                int a = awaited;
                int depth = queue.size();
                if (a > 0 && depth >= a) {
                    LockSupport.unpark(serializer); // this record completes the lingering batch
                }
                if (depth > settings.queueCapacity() / 2) {
                    escalateIfStarved();
                }
                return true;
            }
            overflowInFlight.incrementAndGet(); // before outstanding drops: idle() and close() must never see it nowhere
            outstanding.decrementAndGet();
            escalateIfStarved();
        } else {
            overflowInFlight.incrementAndGet();
        }
        overflowPending.add(record);
        return scheduleOverflowAppends();
    }

    /**
     * Starts a drain of {@link #overflowPending} on the overflow executor unless one is running
     * (it will take this record too): a burst of records that find the queue full costs one
     * append and one fsync per drained group, not one each. If the executor refuses, the caller
     * drains; false then if a record could not be kept.
     */
    private boolean scheduleOverflowAppends() {
        if (!overflowDraining.compareAndSet(false, true)) {
            return true;
        }
        try {
            overflowIo.execute(() -> drainOverflowAppends(Integer.MAX_VALUE));
            return true;
        } catch (RejectedExecutionException e) {
            // The caller drains, but one group at most: records that others add meanwhile are
            // left to their own submits, or to the writer thread, which kicks the drain every
            // round. Otherwise one plugin thread could drain everyone's overflow for as long as
            // the overload lasts.
            return drainOverflowAppends(1);
        }
    }

    /**
     * Appends what waits for the overflow spool, in groups, until nothing does or
     * {@code maxGroups} were appended. False if any was lost.
     */
    private boolean drainOverflowAppends(int maxGroups) {
        boolean kept = true;
        try {
            while (true) {
                kept &= appendPendingGroups(maxGroups);
                overflowDraining.set(false);
                // A record added between the check above and the flag's release would wait for the
                // next one: take the flag back if so, else stop. A bounded drain stops anyway.
                if (maxGroups != Integer.MAX_VALUE || overflowPending.isEmpty() || !overflowDraining.compareAndSet(false, true)) {
                    return kept;
                }
            }
        } catch (Error e) {
            // An Error (a builder's StackOverflowError, an OutOfMemoryError) must not leave the flag
            // held: every later record would wait in overflowPending forever.
            overflowDraining.set(false);
            if (!overflowPending.isEmpty()) {
                scheduleOverflowAppends();
            }
            throw e;
        }
    }

    /** Appends what waits in {@link #overflowPending}, a group at a time, until it is empty or after {@code maxGroups}. */
    private boolean appendPendingGroups(int maxGroups) {
        boolean kept = true;
        for (int n = 0; n < maxGroups; n++) {
            List<Record> group = new ArrayList<>();
            Record r;
            while (group.size() < OVERFLOW_GROUP && (r = overflowPending.poll()) != null) {
                group.add(r);
            }
            if (group.isEmpty()) {
                return kept;
            }
            kept &= appendOverflow(group);
        }
        return kept;
    }

    /**
     * One append (one fsync) for the group; counted overflowed, or lost if the spool refuses it.
     * A group that does not fit what is left of the spool is split, so the records that fit are
     * kept as they were when each record had its own append. Each record is counted once.
     */
    private boolean appendOverflow(List<Record> group) {
        int prepared = 0; // records turned into a line, or counted lost by build or here
        try {
            List<String> lines = new ArrayList<>(group.size());
            for (Record r : group) {
                UnlinkedEntry built = build(r);
                if (built != null) {
                    try {
                        lines.add(built.json());
                    } catch (RuntimeException e) {
                        stats.lost.incrementAndGet();
                        LOG.error("audit record lost: it could not be serialized ({})", e.getClass().getName());
                    }
                }
                prepared++;
            }
            return appendLines(lines) && lines.size() == group.size();
        } catch (Error e) {
            stats.lost.addAndGet(group.size() - prepared); // the record that threw, and those not reached
            throw e;
        } finally {
            overflowInFlight.addAndGet(-group.size());
        }
    }

    private boolean appendLines(List<String> lines) {
        if (lines.isEmpty()) {
            return true;
        }
        try {
            overflow.append(lines);
            stats.overflowed.addAndGet(lines.size());
            return true;
        } catch (Spool.SpoolFullException e) {
            if (lines.size() > 1) {
                int half = lines.size() / 2; // in order: what fits of the first half, then of the second
                boolean first = appendLines(lines.subList(0, half));
                return appendLines(lines.subList(half, lines.size())) && first;
            }
            return lostOverflow(1, e);
        } catch (IOException | RuntimeException e) {
            return lostOverflow(lines.size(), e);
        }
    }

    private boolean lostOverflow(int n, Exception e) {
        stats.lost.addAndGet(n);
        LOG.error("{} audit records lost: queue full and overflow spool refused them ({})", n, e.getClass().getSimpleName());
        return false;
    }

    /**
     * Audit work runs only where request threads leave the CPU idle. Under sustained saturation it
     * then falls behind: records wait in the queue, and past it in the overflow spool (written by
     * normal-priority threads), nothing is lost while the disk holds.
     */
    private IdleWriter lowerOwnScheduling() {
        if (!settings.idleThreads()) {
            return null;
        }
        IdleScheduling.Outcome o = IdleScheduling.applyToCurrentThread();
        if (!o.applied()) {
            LOG.warn("{} could not be put under SCHED_IDLE ({}): it runs at the lowest Java priority instead",
                    Thread.currentThread().getName(), o.detail());
            return null;
        }
        IdleWriter me = new IdleWriter(Thread.currentThread(), IdleScheduling.schedstatOfCurrentThread().orElse(null),
                IdleScheduling.ownThreadIdOfCurrentThread().orElse(null), new java.util.concurrent.atomic.AtomicBoolean(true));
        stats.idleThreads.incrementAndGet();
        idleWriter = me;
        LOG.info("{} runs under SCHED_IDLE", Thread.currentThread().getName());
        return me;
    }

    /** Counts {@code w} as idle, or not, unless it already is (or is not). */
    private void countIdle(IdleWriter w, boolean idle) {
        if (w != null && w.counted().compareAndSet(!idle, idle)) {
            stats.idleThreads.addAndGet(idle ? 1 : -1);
        }
    }

    /**
     * The SCHED_IDLE writer gets no CPU while normal threads keep every core busy, however long
     * that lasts (an overload, or a flood meant to delay auditing). When it is starved (the queue
     * half full, or full, or {@link #checkStarvation}), a writer at normal priority replaces it
     * until the queue has stayed empty for a while ({@link #returnToIdle}): without privilege the
     * policy cannot be raised back, but a new thread, started here by a plugin or timer thread,
     * inherits its normal policy. It takes over after the round the idle writer is in
     * ({@link #rounds}); the idle one retires at its next round.
     */
    private void escalateIfStarved() {
        if (!started || !running || stats.idleThreads.get() == 0) {
            return;
        }
        synchronized (modeLock) {
            startReplacementLocked();
        }
    }

    /**
     * The watchdog's way ({@link #checkStarvation}, run off the timer thread since it starts a
     * process): where the runner may raise priorities (CAP_SYS_NICE), the starved writer itself
     * goes to normal priority and finishes its round at once; a replacement would first wait for
     * that round, worked through on the scraps of CPU an idle thread gets. Otherwise, a replacement.
     */
    private void escalateFromWatchdog(IdleWriter w) {
        if (!started || !running || escalated.get()) {
            return;
        }
        if (w.tid() != null && w.thread().isAlive() && IdleScheduling.setPolicy(w.tid(), true)) {
            countIdle(w, false);
            synchronized (modeLock) {
                if (!escalated.get() && running && idleWriter == w) {
                    escalated.set(true);
                    raisedInPlace = true;
                    calmChecks = 0;
                    LOG.warn("audit writer starved under SCHED_IDLE ({} queued): raised to normal priority until the queue has"
                            + " been empty for {} s", queue.size(), CALM_CHECKS);
                }
                // else a replacement started meanwhile: this thread, no longer idle, retires after its round
            }
            return;
        }
        escalateIfStarved();
    }

    /** Caller holds {@link #modeLock}. */
    private void startReplacementLocked() {
        if (escalated.get() || !running) {
            return;
        }
        escalated.set(true);
        calmChecks = 0;
        Thread idle = serializer;
        Thread normal = writerThread(false);
        serializer = normal;
        normal.start();
        LockSupport.unpark(idle); // retires at once unless it is in a round
        LOG.warn("audit writer starved under SCHED_IDLE ({} of {} queued): a writer at normal priority takes over until the queue"
                + " has been empty for {} s", queue.size(), settings.queueCapacity(), CALM_CHECKS);
    }

    /**
     * The starvation is over (the replacing writer found the queue empty at {@link #CALM_CHECKS}
     * checks in a row): the writer raised in place goes back under SCHED_IDLE, or a new writer
     * thread, which puts itself under SCHED_IDLE, takes over again.
     * Without this, one overload would cost the idle writer's latency benefit until restart.
     */
    private void returnToIdle() {
        IdleWriter w = idleWriter;
        if (!running || !escalated.get()) {
            return;
        }
        boolean lowered = raisedInPlaceNow() && w != null && w.tid() != null && w.thread().isAlive()
                && IdleScheduling.setPolicy(w.tid(), false);
        boolean closing;
        synchronized (modeLock) {
            closing = !running;
            if (!closing && escalated.get()) {
                lastRunDelay = -1;
                raisedInPlace = false;
                escalated.set(false);
                if (lowered) {
                    countIdle(w, true); // the same thread, back under SCHED_IDLE
                } else {
                    idleWriter = null; // the new thread publishes its own
                    Thread normal = serializer;
                    Thread idle = writerThread(true);
                    serializer = idle;
                    idle.start();
                    LockSupport.unpark(normal); // retires at its next round
                }
            }
        }
        if (closing && lowered) {
            IdleScheduling.setPolicy(w.tid(), true); // close() began meanwhile: its final drain is not to wait for idle CPU
            return;
        }
        LOG.info("audit writer queue empty for {} s: the writer runs under SCHED_IDLE again", CALM_CHECKS);
    }

    /** Runs a mode change off the timer thread (it starts a process), one at a time; inline if the executor refuses. */
    private void changeMode(Runnable change) {
        if (!modeChange.compareAndSet(false, true)) {
            return; // the last one is still under way: the next check decides again
        }
        Runnable task = () -> {
            try {
                change.run();
            } finally {
                modeChange.set(false);
            }
        };
        try {
            overflowIo.execute(task);
        } catch (RejectedExecutionException e) {
            task.run();
        }
    }

    /**
     * Called about once a second by a thread at normal priority (the runner's scheduler): when the
     * idle writer spent much of the interval runnable but without a CPU while records wait, it is
     * starved, whatever the queue's length (at low rates the queue never gets half full): a
     * writer at normal priority replaces it. A writer that waits on the store sleeps, so an
     * outage does not count. Once the replacing writer keeps the queue empty, an idle one returns.
     */
    public void checkStarvation() {
        if (escalated.get()) {
            calmChecks = queue.size() == 0 ? calmChecks + 1 : 0;
            if (calmChecks >= CALM_CHECKS) {
                changeMode(this::returnToIdle);
            }
            return;
        }
        IdleWriter w = idleWriter;
        if (w == null || w.schedstat() == null) {
            return;
        }
        java.util.OptionalLong delay = IdleScheduling.runDelayNanos(w.schedstat());
        if (delay.isEmpty()) {
            return;
        }
        long previous = lastRunDelay;
        lastRunDelay = delay.getAsLong();
        if (previous >= 0 && delay.getAsLong() - previous >= STARVED_NANOS && queue.size() > 0) {
            changeMode(() -> escalateFromWatchdog(w));
        }
    }

    // ---- serializer thread: queue -> hash chain -> hand-off ------------------------------------

    private void serializeLoop(boolean idle) {
        IdleWriter mine = idle ? lowerOwnScheduling() : null;
        Thread me = Thread.currentThread();
        List<Record> taken = new ArrayList<>(settings.batchSize());
        while (running || queue.size() > 0) {
            if (serializer != me) {
                retire(mine);
                return;
            }
            try {
                taken.clear();
                awaitRecords();
                rounds.lockInterruptibly();
                try {
                    if (serializer != me) {
                        retire(mine);
                        return;
                    }
                    // Taking records and publishing them as the round is one step for close(): a
                    // record taken but not yet published would be in no place close() looks. Once
                    // close() gave up waiting for this thread, it takes no more (close() drains the queue).
                    synchronized (handoffLock) {
                        if (takeNoMore) {
                            break;
                        }
                        queue.drainTo(taken, settings.batchSize());
                        inRound = taken.isEmpty() ? List.of() : List.copyOf(taken);
                    }
                    serializeStep(taken);
                } finally {
                    rounds.unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable t) {
                LOG.error("audit writer step failed: {}", t.getClass().getName());
                sleepQuietly(100);
            }
        }
        rounds.lock();
        try {
            if (serializer != me) {
                retire(mine); // the writer that replaced this one ends the chain
                return;
            }
            endChain();
        } finally {
            rounds.unlock();
        }
    }

    private boolean raisedInPlaceNow() {
        synchronized (modeLock) {
            return raisedInPlace;
        }
    }

    private void retire(IdleWriter mine) {
        countIdle(mine, false);
    }

    /** The last writer, at close: a final signed checkpoint, then the end mark for the store thread. */
    private void endChain() {
        synchronized (handoffLock) {
            if (roundTakenOver) {
                return; // close() is done and the process on its way out; nothing linked since is stored
            }
        }
        try {
            List<ChainedEntry> last = new ArrayList<>(1);
            if (opening != null && signer.isPresent()) {
                checkpoint(last, clock.millis(), opening); // closed before its first round: the anchor is the final checkpoint
                opening = null;
            } else {
                maybeCheckpoint(last, true); // the final signed checkpoint covers everything linked
            }
            if (!last.isEmpty()) {
                handOff(last, 0, 0, -1);
            }
        } catch (Throwable t) {
            LOG.warn("final audit checkpoint failed: {}", t.getClass().getSimpleName());
        }
        synchronized (handoffLock) {
            handoff.addLast(END);
            handoffLock.notifyAll();
        }
    }

    /**
     * Sleeps for the linger unless a full batch is queued: records that arrive meanwhile wake
     * nobody, except the one that completes a batch (see {@link #submit}), so at low rates a
     * round links what a linger gathered, and a plugin thread almost never has to wake this
     * thread. Without a linger, any record wakes it, and it otherwise sleeps for the flush
     * interval. close() ends the wait at once.
     */
    private void awaitRecords() {
        boolean lingering = !settings.linger().isZero();
        int wake = lingering ? settings.batchSize() : 1;
        if (!running || queue.size() >= wake) {
            return;
        }
        awaited = wake;
        try {
            // after publishing awaited: a submit either sees it, or its record is seen here
            if (running && queue.size() < wake) {
                LockSupport.parkNanos(this, (lingering ? settings.linger() : settings.flushInterval()).toNanos());
            }
        } finally {
            awaited = 0;
        }
    }

    /** One round: link what was taken (and any overflow), maybe checkpoint, hand the batch on. */
    private void serializeStep(List<Record> taken) throws IOException, InterruptedException {
        if (!overflowPending.isEmpty()) {
            scheduleOverflowAppends(); // left by a bounded drain, with nobody submitting since
        }
        List<ChainedEntry> linked = new ArrayList<>(taken.size() + 2);
        if (opening != null && signer.isPresent()) {
            checkpoint(linked, clock.millis(), opening); // the anchor: first, so it covers the previous lifetime's tail at once
        }
        opening = null;
        int failed = 0; // counted lost when the round is settled, unless close() took it over (it builds them again)
        for (Record r : taken) {
            ChainedEntry e = linkOrNull(r);
            if (e != null) {
                linked.add(e);
            } else {
                failed++;
            }
        }
        Spool.Batch over = readOverflow();
        if (over != null) {
            for (String line : over.lines()) {
                JsonNode n = readable(line, "overflow");
                if (n instanceof ObjectNode o) {
                    // like a record: one that cannot be linked is counted lost with the round, or,
                    // if close() takes the round over, read again by the next start
                    ChainedEntry e = linkOrNull(() -> o);
                    if (e != null) {
                        linked.add(e);
                    } else {
                        failed++;
                    }
                }
            }
        }
        maybeCheckpoint(linked, false);
        if (!linked.isEmpty()) {
            Batch b = handOff(linked, taken.size(), failed, over == null ? -1 : over.endOffset());
            if (b == null) {
                return;
            }
            if (over != null) {
                // Overflow lines are released only once their entries are durable (stored or
                // spooled); waiting here also keeps the next round from reading them again.
                b.routed.await();
                onOverflowIo(this::commitOverflowDue);
            }
        } else {
            // every record taken failed to build: settled here, unless close() took the round over
            boolean settled;
            synchronized (handoffLock) {
                inRound = List.of();
                settled = !roundTakenOver;
                if (settled) {
                    stats.lost.addAndGet(failed);
                }
            }
            if (settled) {
                outstanding.addAndGet(-taken.size());
            }
            if (over != null && settled) { // every line read was unreadable or failed to link (counted lost)
                overflowCommitDue.set(over.endOffset());
                onOverflowIo(this::commitOverflowDue);
            }
        }
    }

    /**
     * Commits the overflow lines that are durable, once: under the overflow spool's monitor, so a
     * writer that took the offset is committing it, not stalled before (close() would otherwise
     * find nothing due while the lines stay pending, and the next start would store them twice).
     */
    private Void commitOverflowDue() throws IOException {
        synchronized (overflow) {
            long end = overflowCommitDue.getAndSet(-1);
            if (end >= 0) {
                overflow.commit(end);
            }
        }
        return null;
    }

    /**
     * Runs an overflow-spool operation of the writer on the overflow executor and waits for it.
     * The spool's monitor is also taken by overflow appends, on normal-priority threads (and on a
     * plugin thread when that executor refuses): the writer, under SCHED_IDLE, must never hold it,
     * since preempted there it would stall them until a core is idle. Inline if the executor refuses.
     */
    private <T> T onOverflowIo(java.util.concurrent.Callable<T> op) throws IOException, InterruptedException {
        java.util.concurrent.CompletableFuture<T> done = new java.util.concurrent.CompletableFuture<>();
        try {
            overflowIo.execute(() -> {
                try {
                    done.complete(op.call());
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            return callInline(op);
        }
        try {
            return done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException(c);
        }
    }

    private static <T> T callInline(java.util.concurrent.Callable<T> op) throws IOException {
        try {
            return op.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /**
     * The next overflow lines, or null. A read failure must not escape: the records taken this
     * round are already linked into the chain and still have to be handed on; the overflow is
     * tried again next round.
     */
    private Spool.Batch readOverflow() throws InterruptedException {
        if (!overflow.hasPending()) {
            return null;
        }
        try {
            return onOverflowIo(() -> overflow.read(settings.batchSize()));
        } catch (IOException | RuntimeException e) {
            LOG.error("audit overflow file could not be read, retrying next round: {}", e.getClass().getName());
            return null;
        }
    }

    /**
     * Appends a linked batch to the hand-off FIFO (waits while it is full). Null if close() took
     * the round over meanwhile: the batch is dropped, and overflow lines it holds must not be
     * committed (the next start reads them again).
     */
    private Batch handOff(List<ChainedEntry> linked, int records, int failed, long overflowEnd) throws InterruptedException {
        Batch b = new Batch(linked);
        b.overflowEnd = overflowEnd;
        b.head = new ChainHead(chain.instance(), chain.seq(), chain.lastHash(), 0);
        batchesInFlight.incrementAndGet();
        synchronized (handoffLock) {
            while (!abandoned && handoff.size() >= HANDOFF_BATCHES) {
                handoffLock.wait();
            }
            inRound = List.of();
            if (roundTakenOver) {
                // close() appended this round's records to the overflow spool (and counted them,
                // the ones that fail to build again included): dropping the linked copies leaves
                // each record kept, or counted lost, once; its overflow lines stay for the next start
                b.overflowEnd = -1;
                finish(b);
                return null;
            }
            stats.lost.addAndGet(failed);
            if (abandoned) {
                if (spoolOrCountLost(linked)) { // after what close() spooled: still chain order
                    reportDurable(b.head, false);
                }
                finish(b);
            } else {
                handoff.addLast(b);
                handoffLock.notifyAll();
            }
        }
        outstanding.addAndGet(-records);
        return b;
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

    /** The record built now, on the caller's thread; null if that failed (counted lost). */
    private Record builtHere(Record r) {
        UnlinkedEntry built = build(r);
        return built == null ? null : new Built(built);
    }

    /** A record built already: its canonical form. */
    private record Built(UnlinkedEntry unlinked) implements Record {
        @Override
        public ObjectNode build() {
            return unlinked.toTree();
        }
    }

    /**
     * A record whose building fails (a bug, not an outage; or an Error such as a
     * StackOverflowError or OutOfMemoryError) is counted as lost and logged without content. The
     * others of its round are not affected.
     */
    private UnlinkedEntry build(Record r) {
        try {
            return r.unlinked();
        } catch (RuntimeException | Error e) {
            stats.lost.incrementAndGet();
            LOG.error("audit record lost: it could not be built ({})", e.getClass().getName());
            return null;
        }
    }

    /**
     * The record built and linked, or null if either failed (logged; the round counts it lost
     * when it is settled, unless close() took the round over and builds the record again).
     * The chain only moves on for an entry that was hashed, so a failure leaves no gap in it.
     */
    private ChainedEntry linkOrNull(Record r) {
        UnlinkedEntry built;
        try {
            built = r.unlinked();
        } catch (RuntimeException | Error e) {
            LOG.error("audit record lost: it could not be built ({})", e.getClass().getName());
            return null;
        }
        try {
            return link(built);
        } catch (RuntimeException | Error e) {
            LOG.error("audit record lost: it could not be linked ({})", e.getClass().getName());
            return null;
        }
    }

    private ChainedEntry link(UnlinkedEntry record) {
        byte[] json = chain.linkAndEncode(record);
        return new ChainedEntry(chain.instance(), chain.seq(), json);
    }

    private void maybeCheckpoint(List<ChainedEntry> linked, boolean force) {
        if (signer.isEmpty() || chain.seq() == lastCheckpointSeq) {
            return;
        }
        long now = clock.millis();
        boolean due = force || chain.seq() - lastCheckpointSeq >= settings.checkpointEvery()
                || now - lastCheckpointAt >= settings.checkpointInterval().toMillis();
        if (due) {
            checkpoint(linked, now, null);
        }
    }

    /**
     * Links and signs a checkpoint. It carries the interval the writer promises ({@code interval_ms}:
     * verify reports entries left uncovered for longer as a possible truncation), the id of the
     * signing key, and when the previous checkpoint was made, or instead {@code extra} fields (the anchor).
     */
    private void checkpoint(List<ChainedEntry> linked, long now, ObjectNode extra) {
        ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
        if (extra != null) {
            cp.setAll(extra);
        }
        cp.put("kind", "checkpoint");
        cp.put("ts", java.time.Instant.ofEpochMilli(now).toString());
        cp.put("covers_seq", chain.seq());
        cp.put("interval_ms", settings.checkpointInterval().toMillis());
        if (extra == null) {
            // lets verify bound the age of entries cut before this checkpoint (an anchor has prev_at)
            cp.put(io.inferencepam.pam.record.chain.ChainVerifier.PREV_CHECKPOINT_AT, lastCheckpointAt);
        }
        signer.get().keyId().ifPresent(id -> cp.put("key_id", id));
        chain.link(cp);
        try {
            cp.put(HashChain.SIG, signer.get().sign(cp.get(HashChain.HASH).asText()));
        } catch (RuntimeException | Error e) {
            // The checkpoint is in the chain now: stored unsigned (verify reports it), it leaves
            // no gap; thrown, it would take the round's records with it.
            stats.unsignedCheckpoints.incrementAndGet();
            LOG.error("audit checkpoint could not be signed, stored unsigned: {}", e.getClass().getName());
        }
        linked.add(new ChainedEntry(chain.instance(), chain.seq(), CanonicalJson.utf8(cp)));
        lastCheckpointSeq = chain.seq();
        lastCheckpointAt = now;
        stats.checkpoints.incrementAndGet();
    }

    // ---- store thread: hand-off -> sink, or spool; spool drain -----------------------------

    private void storeLoop() {
        // Not under SCHED_IDLE: this thread mostly waits on I/O, and it holds what close() and
        // the status endpoint need (handoffLock through a spool append, the spool's monitor); a
        // starved holder would stall them. Measured: the audited route's p99 was the same with
        // this thread at nice 4 as under SCHED_IDLE (paired ratio 1.01).
        while (true) {
            try {
                Batch b;
                synchronized (handoffLock) {
                    if (handoff.isEmpty() && !abandoned) {
                        handoffLock.wait(Math.max(1, settings.flushInterval().toMillis()));
                    }
                    if (abandoned) {
                        return; // close() took over what was left
                    }
                    b = handoff.pollFirst();
                    if (b == END) {
                        return;
                    }
                    inFlight = b;
                    handoffLock.notifyAll(); // room for the serializer
                }
                if (b != null) {
                    route(b);
                }
                if (abandoned) {
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

    private void route(Batch b) {
        List<ChainedEntry> linked = b.entries;
        try {
            if (!spool.hasPending() && (storeUp || clock.millis() >= retryAt)) {
                try {
                    sink.write(linked);
                    stats.written.addAndGet(linked.size());
                    reportDurable(b.head, true);
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
            synchronized (handoffLock) {
                if (!b.takenOver && spoolOrCountLost(linked)) { // else close() has spooled it already
                    reportDurable(b.head, false);
                }
            }
        } finally {
            synchronized (handoffLock) {
                inFlight = null;
                finish(b);
            }
        }
    }

    private boolean spoolOrCountLost(List<ChainedEntry> linked) {
        try {
            spool.append(lines(linked));
            stats.spooled.addAndGet(linked.size());
            return true;
        } catch (IOException e) {
            stats.lost.addAndGet(linked.size());
            LOG.error("{} audit entries lost: store down and spool refused them ({})", linked.size(), e.getClass().getSimpleName());
            return false;
        }
    }

    /** The chain head up to which entries are durable; a failure to record it never stops the writer. */
    private void reportDurable(ChainHead head, boolean inStore) {
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

    /** Once per batch (under {@link #handoffLock}): it is stored, spooled or counted lost. */
    private void finish(Batch b) {
        if (!b.finished) {
            b.finished = true;
            if (b.overflowEnd >= 0) {
                overflowCommitDue.set(b.overflowEnd);
            }
            batchesInFlight.decrementAndGet();
            b.routed.countDown();
        }
    }

    private void markDown(Exception e) {
        if (storeUp) {
            LOG.warn("audit store ({}) unavailable, spooling locally: {}", sink.kind(), causes(e));
        }
        storeUp = false;
        retryAt = clock.millis() + backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, settings.maxRetryBackoff().toMillis());
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
    private void drainIfDue() throws IOException {
        if (!spool.hasPending() || (!storeUp && clock.millis() < retryAt)) {
            return;
        }
        Map<String, Long> stored = new HashMap<>();
        ChainHead drainedHead = null;
        try {
            while (spool.hasPending() && !abandoned) {
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
                    if (inst.equals(chain.instance())) {
                        drainedHead = new ChainHead(inst, seq, n.path(HashChain.HASH).asText(), 0);
                    }
                }
                sink.write(toWrite);
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

    /**
     * Whether every record submitted so far is in the store: nothing queued, being linked, handed
     * off, waiting for an overflow append or spooled, and the store up.
     */
    public boolean idle() throws IOException {
        // outstanding before batchesInFlight: a batch is counted in flight before its records leave outstanding
        return outstanding.get() == 0 && batchesInFlight.get() == 0 && overflowInFlight.get() == 0
                && !spool.hasPending() && !overflow.hasPending() && storeUp;
    }

    /** Blocks until {@link #idle} or {@code timeout} passes (tests, shutdown). */
    public boolean awaitIdle(Duration timeout) throws InterruptedException, IOException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (idle()) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /**
     * Stops taking records; what is queued is linked, written (or spooled), then a final signed
     * checkpoint. Bounded by {@code timeout}: if the store is stuck past it, what was handed off
     * (including the batch being written) is spooled in chain order, and later batches go
     * straight to the spool; records still queued after that are appended to the overflow spool
     * so the next start links them.
     */
    public void close(Duration timeout) {
        running = false; // no interrupt: it would close the spool's FileChannel mid-append
        LockSupport.unpark(serializer); // ends a linger at once
        start(); // a writer closed before it started still links and writes what was submitted
        long deadline = System.nanoTime() + timeout.toNanos();
        joinUntil(serializer, deadline);
        joinUntil(store, deadline);
        if (store.isAlive()) {
            takeOver();
            joinUntil(serializer, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
        }
        // Left in the queue: a submit that raced with close, or a serializer that did not finish;
        // first the round that serializer still holds, if it has not handed it off.
        List<Record> rest = new ArrayList<>();
        if (serializer.isAlive()) {
            synchronized (handoffLock) {
                takeNoMore = true;
                if (!inRound.isEmpty()) {
                    roundTakenOver = true;
                    rest.addAll(inRound);
                    inRound = List.of();
                }
            }
            if (!rest.isEmpty()) {
                LOG.warn("audit writer did not finish in time at shutdown: its current round ({} records) goes to the overflow spool",
                        rest.size());
            }
            try {
                commitOverflowDue(); // overflow lines close() spooled in takeOver(), if the writer has not committed them
            } catch (IOException e) {
                LOG.error("audit overflow offset could not be committed at shutdown: {}", e.getClass().getSimpleName());
            }
        }
        queue.drainTo(rest, Integer.MAX_VALUE);
        if (!rest.isEmpty()) {
            overflowInFlight.addAndGet(rest.size());
            outstanding.addAndGet(-rest.size()); // no longer queued: counted by overflowInFlight until appended
            appendOverflow(rest);
        }
        flushOverflowAppends(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
    }

    /**
     * Records still waiting for a grouped overflow append are appended here, unless a drain on
     * the blocking executor already holds them (then wait for it, briefly): the executor may be
     * shut down right after, and nothing may be left only in memory.
     */
    private void flushOverflowAppends(long deadlineNanos) {
        while (overflowInFlight.get() > 0 && System.nanoTime() < deadlineNanos) {
            if (!overflowPending.isEmpty() && overflowDraining.compareAndSet(false, true)) {
                drainOverflowAppends(Integer.MAX_VALUE);
            } else {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
            }
        }
        // The drain task that holds the flag never ran (an executor shut down, or stuck): take
        // over. Each record is polled once, so a late drain cannot append one twice.
        appendPendingGroups(Integer.MAX_VALUE);
    }

    /** The store thread is stuck: spool what it holds and what waits for it, in chain order. */
    private void takeOver() {
        synchronized (handoffLock) {
            abandoned = true;
            List<Batch> rest = new ArrayList<>();
            if (inFlight != null) {
                inFlight.takenOver = true; // its write may still succeed: the drain skips it by seq then
                rest.add(inFlight);
            }
            for (Batch b : handoff) {
                if (b != END) {
                    rest.add(b);
                }
            }
            handoff.clear();
            List<ChainedEntry> all = new ArrayList<>();
            rest.forEach(b -> all.addAll(b.entries));
            if (!all.isEmpty() && spoolOrCountLost(all)) {
                reportDurable(rest.get(rest.size() - 1).head, false);
            }
            rest.forEach(this::finish);
            handoffLock.notifyAll();
        }
        LOG.warn("audit store ({}) did not finish in time at shutdown: pending entries spooled", sink.kind());
    }

    private static void joinUntil(Thread t, long deadlineNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (ms <= 0) {
            return;
        }
        try {
            t.join(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
