package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit records off the request path, in four parts with one job each:
 * <ul>
 *   <li>callers {@link #submit} a record to a bounded, lock-free queue ({@link LockFreeBoundedQueue});
 *       when it is full, the record goes to the {@code overflow} spool instead ({@link OverflowAppends});</li>
 *   <li>the chain stage, this class's {@code pam-audit-writer} thread, takes records in queue order
 *       (and overflow lines), links them (canonical JSON as UTF-8, SHA-256), adds signed
 *       checkpoints ({@link Checkpointer}) and hands the linked batch on ({@link Handoff});</li>
 *   <li>the store stage ({@link StoreStage}, thread {@code pam-audit-store}) writes the batches to
 *       the sink in hand-off order, or to the local spool while the sink fails, and drains it later.
 *       When nothing else is queued or spooled and that thread is idle, the chain stage's thread
 *       makes the write itself ({@link Handoff#storeHereLocked}): one thread woken per batch at moderate rates.</li>
 * </ul>
 * Both threads park until there is work: an idle writer costs no wake-ups. The chain stage lingers
 * briefly once records arrive, so at low rates one store round trip carries several records; it
 * sets a timer only while entries wait for a checkpoint. So storage order is chain order, and
 * nothing is lost while the disk holds; what cannot be kept is counted.
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
        public final AtomicLong unsignedCheckpoints = new AtomicLong();
        public final AtomicLong skippedDuplicates = new AtomicLong();
        /** Sink writes (one pipelined round trip each, live batches and spool drains) and the entries they carried. */
        public final AtomicLong sinkWrites = new AtomicLong();
        public final AtomicLong sinkWriteEntries = new AtomicLong();
        private volatile IntConsumer sinkWriteSizes = n -> { };

        /** Before the writer starts: told the number of entries of every sink write (a histogram). */
        public void observeSinkWrites(IntConsumer sizes) {
            this.sinkWriteSizes = sizes;
        }

        /**
         * Called once a write succeeded, inside the store stage's "store down" try: a metric that
         * throws must not make a stored batch look unstored (it would be spooled and written again).
         */
        void sinkWrite(int entries) {
            sinkWrites.incrementAndGet();
            sinkWriteEntries.addAndGet(entries);
            try {
                sinkWriteSizes.accept(entries);
            } catch (RuntimeException e) {
                LOG.warn("audit sink write histogram failed ({}); the write itself succeeded", e.getClass().getSimpleName());
            }
        }
    }

    /**
     * @param linger how long the chain stage lets a batch that is not full gather more records
     *               before linking it, once records arrive: at low rates this turns one store round
     *               trip (and two thread wake-ups) per record into one per batch; zero links whatever is queued at once
     */
    public record Settings(int queueCapacity, int batchSize, long checkpointEvery,
                           Duration checkpointInterval, Duration maxRetryBackoff, Duration linger) {
    }

    /**
     * A record that is built when the writer takes it: callers hand over what they know (cheap),
     * and the building, like the linking, runs on the writer's thread.
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

    /** Told which chain head is durable (stored, or spooled) after each batch: the local chain head file. */
    @FunctionalInterface
    public interface DurableHeads {
        void durable(ChainHead head, boolean inStore) throws IOException;
    }

    private final AuditSink sink;
    private final Spool spool;
    private final Spool overflow;
    private final HashChain chain;
    private final Settings settings;
    private final Clock clock;
    private final LockFreeBoundedQueue<Record> queue;
    private final Stats stats = new Stats();
    private final Checkpointer checkpointer;
    private final Handoff handoff;
    private final StoreStage store;
    private final OverflowAppends overflowAppends;
    private final Thread serializer;
    private final Thread storeThread;
    private volatile boolean started;
    private volatile boolean running = true;
    /** Records accepted by the queue and not yet handed off (linked) in a batch. */
    private final AtomicLong outstanding = new AtomicLong();
    /**
     * The overflow offset up to which lines are durable (stored or spooled) but not yet committed,
     * or -1. Set when their batch is finished, and committed by whoever takes it first: the
     * chain stage, or close() when that stage may not run again.
     */
    private final AtomicLong overflowCommitDue = new AtomicLong(-1);
    /** While the chain stage parks: how many queued records wake it (0 otherwise). */
    private volatile int awaited;
    /** The chain stage's last round took nothing: its next wait has no timer unless a checkpoint is due. */
    private boolean quiet;
    /** Tests only: runs in submit() between its check of {@code running} and its offer, to put close() exactly there. */
    volatile Runnable beforeOffer;

    // ---- what close() may take over from a chain stage that does not finish in time (under the handoff's monitor)
    /** The records the chain stage took for its current round, until their batch is handed off. */
    private List<Record> inRound = List.of();
    /** close() took {@link #inRound} over: the chain stage drops that round. */
    private boolean roundTakenOver;
    /** close() gave up waiting for the chain stage: it takes no more records (close() drains the queue). */
    private boolean takeNoMore;

    /** Fields of the signed checkpoint that opens this lifetime's part of the chain (its anchor), until written. */
    private volatile ObjectNode opening;

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
        this.sink = sink;
        this.spool = spool;
        this.overflow = overflow;
        this.chain = chain;
        this.settings = settings;
        this.clock = clock;
        this.queue = new LockFreeBoundedQueue<>(settings.queueCapacity());
        this.checkpointer = new Checkpointer(chain, signer, settings.checkpointEvery(), settings.checkpointInterval(), clock, stats);
        this.handoff = new Handoff(overflowCommitDue::set);
        this.store = new StoreStage(sink, spool, handoff, stats, clock, settings.batchSize(), settings.maxRetryBackoff(),
                chain.instance());
        this.serializer = lowPriority(new Thread(this::serializeLoop, "pam-audit-writer"));
        this.storeThread = lowPriority(new Thread(store, "pam-audit-store"));
        this.overflowAppends = new OverflowAppends(overflow, overflowIo, stats, this::build, this::wake);
    }

    /** Record-keeping yields the CPU to calls (nice 4 with the launch flag -XX:ThreadPriorityPolicy=1). */
    private static Thread lowPriority(Thread t) {
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        return t;
    }

    public synchronized AuditWriter start() {
        if (!started) {
            started = true;
            storeThread.start();
            serializer.start();
        }
        return this;
    }

    /** Before {@link #start}: where durable chain heads are reported ({@link ChainHeadFile}). */
    public AuditWriter onDurable(DurableHeads heads) {
        store.onDurable(heads);
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
        return store.up();
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
        boolean queued = queue.size() < settings.queueCapacity();
        return queued ? store.up() || spool.canAccept() : overflow.canAccept();
    }

    /** {@link #submit(Record)} of a record that is already built. */
    public boolean submit(ObjectNode record) {
        return submit(() -> record);
    }

    /**
     * Never blocks on the store. False only when the record could not be kept anywhere (counted as lost).
     * While the writer keeps up, the record is built on the writer's thread; once more than a
     * batch is waiting, the caller builds it here: that slows the callers down a little instead
     * of letting the writer fall further behind, until the queue is full and records take the
     * much slower overflow path.
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
                if (a > 0 && queue.size() >= a) {
                    LockSupport.unpark(serializer); // the first record after a quiet spell, or one that completes a batch
                }
                return true;
            }
            overflowAppends.reserve(1); // before outstanding drops: idle() and close() must never see it nowhere
            outstanding.decrementAndGet();
        } else {
            overflowAppends.reserve(1);
        }
        return overflowAppends.add(record);
    }

    private void wake() {
        LockSupport.unpark(serializer);
    }

    // ---- the chain stage (pam-audit-writer): queue -> hash chain -> hand-off ------------------------

    private void serializeLoop() {
        List<Record> taken = new ArrayList<>(settings.batchSize());
        while (running || queue.size() > 0) {
            try {
                taken.clear();
                awaitWork();
                // Taking records and publishing them as the round is one step for close(): a
                // record taken but not yet published would be in no place close() looks. Once
                // close() gave up waiting for this thread, it takes no more (close() drains the queue).
                synchronized (handoff) {
                    if (takeNoMore) {
                        break;
                    }
                    queue.drainTo(taken, settings.batchSize());
                    inRound = taken.isEmpty() ? List.of() : List.copyOf(taken);
                }
                quiet = taken.isEmpty();
                serializeStep(taken);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable t) {
                LOG.error("audit writer step failed: {}", t.getClass().getName());
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
        endChain();
    }

    /**
     * Parks until there is work. After a quiet round (nothing taken) it parks without a timer
     * until a record arrives (that submit wakes it), or until entries that no checkpoint covers
     * yet are due for one. Then, and after a round that took records, it lingers: records that
     * arrive meanwhile wake nobody, except the one that completes a batch, so at low rates a
     * round links what a linger gathered and a plugin thread rarely has to wake this thread.
     * close() and overflow appends end any wait at once.
     */
    private void awaitWork() {
        if (!running || opening != null || overflow.hasPending() || overflowAppends.hasWaiting()) {
            return; // an anchor to write, overflow lines to link, or overflow appends to kick
        }
        long checkpointDue = checkpointer.dueInMillis();
        if (checkpointDue == 0) {
            return;
        }
        if (quiet && queue.size() == 0) {
            park(1, checkpointDue > 0 ? TimeUnit.MILLISECONDS.toNanos(checkpointDue) : 0);
            if (queue.size() == 0) {
                return; // a checkpoint due, close(), or overflow lines: the round sees to it
            }
            checkpointDue = checkpointer.dueInMillis();
        }
        if (!settings.linger().isZero()) {
            long nanos = settings.linger().toNanos();
            park(settings.batchSize(), checkpointDue > 0 ? Math.min(nanos, TimeUnit.MILLISECONDS.toNanos(checkpointDue)) : nanos);
        }
    }

    /** Parks until {@code wake} records are queued, or {@code nanos} pass (0: no timer), or an unpark. */
    private void park(int wake, long nanos) {
        awaited = wake;
        try {
            // after publishing awaited: a submit either sees it, or its record is seen here
            if (running && queue.size() < wake) {
                if (nanos == 0) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, nanos);
                }
            }
        } finally {
            awaited = 0;
        }
    }

    /** One round: link what was taken (and any overflow), maybe checkpoint, hand the batch on. */
    private void serializeStep(List<Record> taken) throws IOException, InterruptedException {
        if (overflowAppends.hasWaiting()) {
            overflowAppends.schedule(); // left by a bounded drain, with nobody submitting since
        }
        List<ChainedEntry> linked = new ArrayList<>(taken.size() + 2);
        ObjectNode anchor = opening;
        if (anchor != null) {
            checkpointer.anchor(linked, anchor); // first, so it covers the previous lifetime's tail at once
            opening = null;
        }
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
            quiet = false;
            for (String line : over.lines()) {
                JsonNode n = StoreStage.readable(line, "overflow", stats);
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
        checkpointer.maybe(linked, false);
        if (!linked.isEmpty()) {
            Handoff.Batch b = handOff(linked, taken.size(), failed, over == null ? -1 : over.endOffset());
            if (b != null && over != null) {
                // Overflow lines are released only once their entries are durable (stored or
                // spooled); waiting here also keeps the next round from reading them again.
                b.finished.await();
                commitOverflowDue();
            }
        } else {
            // every record taken failed to build: settled here, unless close() took the round over
            boolean settled;
            boolean ownsOverflow;
            synchronized (handoff) {
                inRound = List.of();
                settled = !roundTakenOver;
                ownsOverflow = !takeNoMore; // else the overflow spool is the next start's: it reads these lines again
                if (settled) {
                    stats.lost.addAndGet(failed);
                }
            }
            if (settled) {
                outstanding.addAndGet(-taken.size());
            }
            if (over != null && settled && ownsOverflow) { // every line read was unreadable or failed to link (counted lost)
                overflowCommitDue.set(over.endOffset());
                commitOverflowDue();
            }
        }
    }

    /**
     * Commits the overflow lines that are durable, once: under the overflow spool's monitor, so a
     * stage that took the offset is committing it, not stalled before (close() would otherwise
     * find nothing due while the lines stay pending, and the next start would store them twice).
     */
    private void commitOverflowDue() throws IOException {
        synchronized (overflow) {
            long end = overflowCommitDue.getAndSet(-1);
            if (end >= 0) {
                overflow.commit(end);
            }
        }
    }

    /**
     * The next overflow lines, or null. A read failure must not escape: the records taken this
     * round are already linked into the chain and still have to be handed on; the overflow is
     * tried again next round.
     */
    private Spool.Batch readOverflow() {
        if (!overflow.hasPending()) {
            return null;
        }
        try {
            return overflow.read(settings.batchSize());
        } catch (IOException | RuntimeException e) {
            LOG.error("audit overflow file could not be read, retrying next round: {}", e.getClass().getName());
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // not a busy loop on a broken file
            return null;
        }
    }

    /**
     * Appends a linked batch to the hand-off (waits while it is full). Null if close() took the
     * round over meanwhile: the batch is dropped, and overflow lines it holds must not be
     * committed (the next start reads them again).
     */
    private Handoff.Batch handOff(List<ChainedEntry> linked, int records, int failed, long overflowEnd) throws InterruptedException {
        Handoff.Batch b = handoff.open(linked, new ChainHead(chain.instance(), chain.seq(), chain.lastHash(), 0), overflowEnd);
        boolean here = false;
        synchronized (handoff) {
            handoff.awaitRoomLocked();
            inRound = List.of();
            if (roundTakenOver || takeNoMore) {
                // close() appended this round's records to the overflow spool (and counted them,
                // the ones that fail to build again included): dropping the linked copies leaves
                // each record kept, or counted lost, once; its overflow lines stay for the next start.
                // Once close() gave up on this thread (takeNoMore), a round without records (an
                // anchor, overflow lines, the final checkpoint) is dropped too: the spool belongs
                // to whoever starts next, and an entry appended now would fork the chain it anchors on.
                b.overflowEnd = -1;
                handoff.finish(b);
                return null;
            }
            stats.lost.addAndGet(failed);
            if (handoff.abandoned()) {
                if (store.spoolOrCountLost(linked)) { // after what close() spooled: still chain order
                    store.reportDurable(b.head, false);
                }
                handoff.finish(b);
            } else if (running && overflowEnd < 0 && queue.size() == 0 && !spool.hasPending() && handoff.storeHereLocked(b)) {
                // nothing else to link, nothing spooled, no overflow lines (their path stays the
                // store stage's) and the store stage idle: one thread, one wake-up less per batch.
                // Not once close() started: its batches go through the hand-off, which close()
                // takes over, and this thread stays free to finish the chain
                here = true;
            } else {
                handoff.addLocked(b);
            }
        }
        outstanding.addAndGet(-records);
        if (here) {
            store.storeHere(b);
        }
        return b;
    }

    /** The last chain stage round, at close: a final signed checkpoint, then the end mark for the store stage. */
    private void endChain() {
        synchronized (handoff) {
            if (roundTakenOver || takeNoMore) {
                // close() gave up on this thread (stuck in a write of its own, say) and has given the
                // spool to whoever starts next: a checkpoint spooled now would fork the chain
                return;
            }
        }
        try {
            List<ChainedEntry> last = new ArrayList<>(1);
            ObjectNode anchor = opening;
            if (anchor != null && checkpointer.signs()) {
                checkpointer.anchor(last, anchor); // closed before its first round: the anchor is the final checkpoint
                opening = null;
            } else {
                checkpointer.maybe(last, true); // the final signed checkpoint covers everything linked
            }
            if (!last.isEmpty()) {
                handOff(last, 0, 0, -1);
            }
        } catch (Throwable t) {
            LOG.warn("final audit checkpoint failed: {}", t.getClass().getSimpleName());
        }
        handoff.end();
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
     * StackOverflowError or OutOfMemoryError) is counted as lost and logged without content.
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
            byte[] json = chain.linkAndEncode(built);
            return new ChainedEntry(chain.instance(), chain.seq(), json);
        } catch (RuntimeException | Error e) {
            LOG.error("audit record lost: it could not be linked ({})", e.getClass().getName());
            return null;
        }
    }

    // ---- idle, close ------------------------------------------------------------------------------

    /**
     * Whether every record submitted so far is in the store: nothing queued, being linked, handed
     * off, waiting for an overflow append or spooled, and the store up.
     */
    public boolean idle() throws IOException {
        // outstanding before unfinished: a batch is counted unfinished before its records leave outstanding
        return outstanding.get() == 0 && handoff.unfinished() == 0 && overflowAppends.inFlight() == 0
                && !spool.hasPending() && !overflow.hasPending() && store.up();
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
     * straight to the spool; records still queued after that, and the round of a chain stage that
     * did not finish, are appended to the overflow spool so the next start links them.
     */
    public void close(Duration timeout) {
        running = false; // no interrupt: it would close the spool's FileChannel mid-append
        LockSupport.unpark(serializer); // ends a wait at once
        start(); // a writer closed before it started still links and writes what was submitted
        long deadline = System.nanoTime() + timeout.toNanos();
        joinUntil(serializer, deadline);
        joinUntil(storeThread, deadline);
        if (storeThread.isAlive()) {
            handoff.takeOver(batches -> {
                List<ChainedEntry> all = new ArrayList<>();
                batches.forEach(b -> all.addAll(b.entries));
                boolean kept = store.spoolOrCountLost(all);
                if (kept) {
                    store.reportDurable(batches.get(batches.size() - 1).head, false);
                }
                return kept;
            });
            LOG.warn("audit store ({}) did not finish in time at shutdown: pending entries spooled", sink.kind());
            joinUntil(serializer, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
        }
        // Left in the queue: a submit that raced with close, or a chain stage that did not finish;
        // first the round that stage still holds, if it has not handed it off.
        List<Record> rest = new ArrayList<>();
        if (serializer.isAlive()) {
            synchronized (handoff) {
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
                commitOverflowDue(); // overflow lines spooled by the take-over, if the chain stage has not committed them
            } catch (IOException e) {
                LOG.error("audit overflow offset could not be committed at shutdown: {}", e.getClass().getSimpleName());
            }
        }
        queue.drainTo(rest, Integer.MAX_VALUE);
        if (!rest.isEmpty()) {
            overflowAppends.reserve(rest.size());
            outstanding.addAndGet(-rest.size()); // no longer queued: counted by the overflow appends until appended
            overflowAppends.append(rest);
        }
        overflowAppends.flush(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
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
}
