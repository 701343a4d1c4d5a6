package io.inferencepam.pam.record;

import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveSettings;
import io.inferencepam.pam.record.archive.ArchiveTask;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.chain.SigningKeys;
import io.inferencepam.pam.record.spool.ChainHeadFile;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.pam.record.sink.JsonLinesFileSink;
import io.inferencepam.pam.record.sink.RedisStreamSink;
import io.inferencepam.pam.record.spool.AuditWriter;
import io.inferencepam.pam.record.spool.Spool;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.io.IOException;
import java.security.PublicKey;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The audit machinery of one runner: sink, spool, hash chain, writer thread, calls waiting for
 * their response phase. Created when the first pam-record conf is prepared; closed at shutdown.
 */
public final class RecordService {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RecordService.class);
    private final RecordSettings settings;
    private final AuditSink sink;
    private final AuditWriter writer;
    private final PendingCalls pending;
    private final FileLock spoolLock;
    private final SigningKeys.Identity signing;
    private final List<PublicKey> verifyKeys;
    private final ChainHeadFile heads;

    private RecordService(RecordSettings settings, AuditSink sink, AuditWriter writer, PendingCalls pending, FileLock lock,
                          SigningKeys.Identity signing, List<PublicKey> verifyKeys, ChainHeadFile heads) {
        this.settings = settings;
        this.sink = sink;
        this.writer = writer;
        this.pending = pending;
        this.spoolLock = lock;
        this.signing = signing;
        this.verifyKeys = verifyKeys;
        this.heads = heads;
    }

    public static RecordService start(PamServices services) throws IOException {
        PluginEnvironment env = services.env();
        RecordSettings s = RecordSettings.from(env);
        if (env.setting("PAM_AUDIT_SCHED").isPresent()) {
            LOG.warn("PAM_AUDIT_SCHED is no longer used: the audit threads run at the lowest Java priority and park until work arrives");
        }
        List<PublicKey> verifyKeys = verifyKeys(s.verifyKey());
        ArchiveSettings archiveSettings = ArchiveSettings.from(env);
        AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", s.spoolDir());
        archiveSettings.dir().ifPresent(dir -> AuditDirectory.prepare("PAM_AUDIT_ARCHIVE_DIR", dir));
        s.fileDir().ifPresent(dir -> AuditDirectory.prepare("PAM_AUDIT_FILE_DIR", dir));
        // One runner per spool directory: two writers appending to one spool would interleave chains.
        FileChannel lockChannel = FileChannel.open(s.spoolDir().resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock();
        if (lock == null) {
            lockChannel.close();
            throw new IOException("audit spool directory is used by another runner; give each runner its own PAM_AUDIT_SPOOL_DIR");
        }
        // Everything taken from here on is given back if the start fails part way (a registry that
        // refuses a metric, a key that does not load): nothing stays scheduled, locked or connected.
        Deque<AutoCloseable> taken = new ArrayDeque<>();
        taken.push(lockChannel);
        taken.push(lock::release);
        try {
            return start(services, s, archiveSettings, verifyKeys, lock, lockChannel, taken);
        } catch (Throwable e) { // an Error too ("unable to create native thread"): else the lock stays held until the JVM exits
            release(taken, e);
            throw e;
        }
    }

    private static RecordService start(PamServices services, RecordSettings s, ArchiveSettings archiveSettings,
                                       List<PublicKey> verifyKeys, FileLock lock, FileChannel lockChannel,
                                       Deque<AutoCloseable> taken) throws IOException {
        PluginEnvironment env = services.env();
        // The audit threads share no lock with the request path: the sink's Redis pool is its own (see PamRedis.newClient).
        Optional<redis.clients.jedis.UnifiedJedis> auditRedis = s.sink().equals("file") ? Optional.empty()
                : Optional.of(services.redis().newClient());
        auditRedis.ifPresent(r -> taken.push(r::close));
        AuditSink sink = auditRedis.isPresent()
                ? new RedisStreamSink(auditRedis.get(), s.streamKey(), s.streamMaxLen(), s.maxAge(), env.clock())
                : new JsonLinesFileSink(s.fileDir().orElseThrow(), s.fileMaxBytes(), s.fileMaxFiles());
        Spool spool = new Spool(s.spoolDir(), s.spoolMaxBytes(), s.spoolMinFreeBytes());
        Spool overflow = new Spool(s.spoolDir().resolve("overflow"), s.spoolMaxBytes(), s.spoolMinFreeBytes());
        // Checkpoints are always signed, and the chain goes on from the previous lifetime: see ChainAnchor.
        SigningKeys.Identity signing = SigningKeys.load(s.signingKey(), verifyKeys, s.spoolDir());
        ChainHeadFile heads = ChainHeadFile.open(s.spoolDir());
        taken.push(heads::close);
        ChainAnchor.Start anchor = ChainAnchor.resume(s.instanceId(), ChainAnchor.localHead(heads.atStart(), spool.tail()), sink,
                RecordService::newInstanceId);
        LOG.info("audit instance {} ({} chain head); checkpoints signed with Ed25519 key {} ({}); public key "
                        + "(PAM_AUDIT_VERIFY_KEY for pamctl audit verify): {}", anchor.chain().instance(), anchor.source(),
                signing.signer().keyId().orElse("?"), signing.source(), signing.publicKey()
                        .map(k -> java.util.Base64.getEncoder().encodeToString(k.getEncoded()))
                        .orElse("unknown: PAM_AUDIT_SIGNING_KEY is set and no PAM_AUDIT_VERIFY_KEY matches it"));
        AuditWriter writer = new AuditWriter(sink, spool, overflow, anchor.chain(), Optional.of(signing.signer()),
                new AuditWriter.Settings(s.queueCapacity(), s.batchSize(), s.checkpointEvery(),
                        s.checkpointInterval(), Duration.ofSeconds(2), s.linger()), env.clock(), env.blockingExecutor())
                .opensWith(anchor.anchor()).onDurable(heads::durable);
        PendingCalls pending = new PendingCalls(writer, env.clock());
        RecordService svc = new RecordService(s, sink, writer, pending, lock, signing, verifyKeys, heads);
        Optional<ArchiveTask> archive = auditRedis.map(r -> startArchive(services, s, archiveSettings, anchor.chain().instance(),
                signing.signer(), taken));
        var sweep = env.scheduler().scheduleWithFixedDelay(pending::sweep, 1, 1, TimeUnit.SECONDS);
        taken.push(() -> sweep.cancel(false));
        // Metrics last but for the writer: a registry cannot take a family back, and the factory
        // starts again on the next conf after a failed start, so one registered by a start that
        // fails later would be scraped twice.
        archive.ifPresent(a -> a.registerMetrics(env.metrics()));
        svc.registerMetrics(env.metrics());
        taken.push(() -> writer.close(Duration.ZERO)); // a writer whose second thread did not start stops the first
        writer.start(); // after its metrics: the anchor's write is the first one the write histogram must see
        taken.pop(); // the writer is closed by the shutdown hook below, before the spool lock is released
        env.onShutdown(() -> {
            sweep.cancel(false);
            archive.ifPresent(ArchiveTask::close);
            pending.flushAll();
            writer.close(Duration.ofMillis(600));
            release(taken, null); // chain head file, Redis clients, spool lock
        });
        return svc;
    }

    /**
     * Gives back what a start took, newest first: all of it when the start failed ({@code failure}:
     * a failure to release one is added to it), the rest at shutdown (logged, never thrown).
     */
    private static void release(Deque<AutoCloseable> taken, Throwable failure) {
        while (!taken.isEmpty()) {
            try {
                taken.pop().close();
            } catch (Exception e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else {
                    LOG.warn("audit resource could not be released at shutdown: {}", e.getClass().getSimpleName());
                }
            }
        }
    }

    /**
     * Every runner with the Redis sink watches the archive lag; those with {@code PAM_AUDIT_ARCHIVE_DIR}
     * also archive (one at a time, by lease). On its own Redis client: a pass reads pages of the stream.
     */
    private static ArchiveTask startArchive(PamServices services, RecordSettings s, ArchiveSettings as, String owner,
                                            CheckpointSigner signer, Deque<AutoCloseable> taken) {
        PluginEnvironment env = services.env();
        if (s.streamMaxLen() > 0 || !s.maxAge().isZero()) {
            LOG.warn("audit stream emergency cap is ON (PAM_AUDIT_STREAM_MAXLEN={}, PAM_AUDIT_MAX_AGE_SECONDS={}): the oldest "
                    + "entries are deleted whether or not they were archived; leave both unset (0) unless Redis memory is at risk",
                    s.streamMaxLen(), s.maxAge().toSeconds());
        }
        redis.clients.jedis.UnifiedJedis jedis = services.redis().newClient();
        taken.push(jedis::close);
        Optional<StreamArchiver> archiver;
        try {
            archiver = as.dir().isEmpty() ? Optional.empty() : Optional.of(new StreamArchiver(jedis, s.streamKey(),
                    new ArchiveDirectory(as.dir().get()), as, owner, env.clock(), Optional.of(signer)));
        } catch (IllegalArgumentException e) {
            // a stream key without a hash tag in cluster mode: the lag watch still runs, and reports the backlog
            LOG.error("audit archive: {}; this runner does not archive", e.getMessage());
            archiver = Optional.empty();
        } catch (IOException e) {
            // prepared (and checked) at start: only a disk failure gets here; the lag watch still runs
            LOG.error("audit archive: PAM_AUDIT_ARCHIVE_DIR cannot be used ({}); this runner does not archive",
                    e.getClass().getSimpleName());
            archiver = Optional.empty();
        }
        if (as.dir().isEmpty()) {
            LOG.info("audit archive: PAM_AUDIT_ARCHIVE_DIR is unset, this runner does not archive (it watches the lag); "
                    + "run an archiver elsewhere (a runner with it, or pamctl audit archive) or the stream grows without bound");
        }
        ArchiveTask task = new ArchiveTask(jedis, s.streamKey(), as, archiver, s.streamMaxLen(), env.clock());
        taken.push(task::close); // before its client's close is reached: nothing stays scheduled on a closed client
        return task.schedule(env.scheduler(), env.blockingExecutor());
    }

    /** {@code PAM_AUDIT_VERIFY_KEY}: one or more base64 X.509 Ed25519 public keys, comma-separated. */
    public static List<PublicKey> verifyKeys(Optional<String> setting) {
        List<PublicKey> out = new ArrayList<>();
        for (String k : setting.orElse("").split(",")) {
            if (!k.isBlank()) {
                try {
                    out.add(CheckpointSigner.publicKeyFromBase64(k));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("PAM_AUDIT_VERIFY_KEY is not a comma-separated list of base64 X.509 Ed25519 public keys");
                }
            }
        }
        return List.copyOf(out);
    }

    /** A new instance id (kept in the spool directory's chain head from then on): host name plus random suffix. */
    private static String newInstanceId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "runner";
        }
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        return host + "-" + HexFormat.of().formatHex(r);
    }

    private void registerMetrics(Metrics m) {
        AuditWriter.Stats st = writer.stats();
        m.gauge("pam_audit_records_submitted", "Audit records handed to the writer", () -> st.submitted.get());
        m.gauge("pam_audit_entries_written", "Audit entries written straight to the store", () -> st.written.get());
        m.gauge("pam_audit_entries_spooled", "Audit entries written to the local spool because the store was down or behind",
                () -> st.spooled.get());
        m.gauge("pam_audit_records_overflowed", "Audit records appended to the overflow spool because the queue was full",
                () -> st.overflowed.get());
        m.gauge("pam_audit_entries_drained", "Spooled audit entries written to the store later", () -> st.drained.get());
        m.gauge("pam_audit_records_lost", "Audit records that could not be kept anywhere", () -> st.lost.get());
        m.gauge("pam_audit_checkpoints", "Checkpoints written", () -> st.checkpoints.get());
        m.gauge("pam_audit_checkpoints_unsigned", "Checkpoints stored without a signature because signing failed",
                () -> st.unsignedCheckpoints.get());
        m.gauge("pam_audit_queue_depth", "Audit records waiting for the writer thread", writer::queueDepth);
        m.gauge("pam_audit_store_up", "1 when the audit store accepted the last write", () -> writer.storeUp() ? 1 : 0);
        m.gauge("pam_audit_pending_calls", "Calls recorded in the request phase, waiting for their response phase", pending::size);
        // One write is one pipelined round trip to the store: its fixed cost (a wake-up and a
        // read/write syscall pair on each side) is shared by the entries it carries.
        Metrics.Histogram sizes = m.histogram("pam_audit_sink_write_entries", "Entries per audit sink write (one pipelined round trip)",
                SINK_WRITE_BUCKETS);
        st.observeSinkWrites(sizes::observe);
    }

    private static final double[] SINK_WRITE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

    public RecordSettings settings() {
        return settings;
    }

    public AuditSink sink() {
        return sink;
    }

    public AuditWriter writer() {
        return writer;
    }

    public PendingCalls pending() {
        return pending;
    }

    /**
     * Appends a step that is not a call (an approval held, decided, expired, …) to this runner's
     * trail: the same chain, sink and spool as call records, never blocking on the store. The one
     * entry point for other plugins' events ({@link io.inferencepam.pam.core.AuditTrail}).
     *
     * @return false when it could not be kept anywhere (counted lost, like a call record)
     */
    public boolean append(io.inferencepam.pam.core.AuditEvent event) {
        return writer.submit(new AuditEventRecord(event, Admission.newId()));
    }

    /** This runner's checkpoint public key, when known (printed at start, served by the control API). */
    public Optional<PublicKey> publicKey() {
        return signing.publicKey();
    }

    /** The keys this runner verifies checkpoints with: its own and {@code PAM_AUDIT_VERIFY_KEY}'s. */
    public List<PublicKey> verificationKeys() {
        List<PublicKey> all = new ArrayList<>(verifyKeys);
        signing.publicKey().filter(k -> verifyKeys.stream().noneMatch(v -> java.util.Arrays.equals(v.getEncoded(), k.getEncoded())))
                .ifPresent(all::add);
        return all;
    }

    /** The newest entry of this runner's chain known to be in the store: verify checks the store still holds it. */
    public Optional<ChainHead> storedHead() {
        return heads.stored();
    }
}
