package io.inferencepam.pam.record.archive;

import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.io.IOException;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Moves audit stream entries into archive segments and trims the stream behind them, never past
 * the last archived entry. One pass ({@link #runOnce}): take or renew the lease; resume after the
 * newest archived id (the Redis cursor or, when a crash came between the rename and the trim, the
 * newest segment's name); while a segment is due (enough bytes wait, or the oldest waiting entry
 * is old enough), copy the next entries into a segment, make it durable, then commit
 * ({@code archive_commit.lua}: cursor and {@code XTRIM MINID}, fenced by the lease); delete
 * segments past the retention. Every segment is listed in the directory's signed
 * {@link ArchiveManifest} before the stream is trimmed behind it; recovery resumes from the
 * manifest, not from file names, refuses a directory whose manifest names another stream, and
 * trims past the cursor only as far as its own signatures and the segments' SHA-256, or the
 * segments' entries compared with the stream, prove archived.
 * Not thread-safe: one caller at a time.
 */
public final class StreamArchiver {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StreamArchiver.class);
    private static final int PAGE = 500;
    /** Segments per pass: a backlog is worked off over several passes, renewing the lease in between. */
    private static final int MAX_SEGMENTS_PER_PASS = 64;

    /** What a pass did. */
    public record Pass(boolean holder, int segments, long entries) {
    }

    private final UnifiedJedis jedis;
    private final String streamKey;
    private final String cursorKey;
    private final ArchiveDirectory dir;
    private final ArchiveSettings settings;
    private final ArchiveLease lease;
    private final Clock clock;
    private final Optional<CheckpointSigner> signer;
    private boolean recovered;
    /** The manifest being appended to; null until the directory was reconciled. */
    private ArchiveManifest manifest;
    /** The newest entry a manifest line lists. */
    private StreamId listedUpTo = StreamId.ZERO;
    /** Average bytes per archived line, learned from segments written (to judge when enough waits). */
    private long bytesPerEntry = 0;
    private long segmentsWritten;
    private long entriesArchived;
    /** Entries in the segment {@link #copyNext} wrote last. */
    private long lastCount;

    /**
     * @param signer signs the manifest's lines (the runner's checkpoint key); empty: unsigned lines,
     *               which verify reports as not verified
     * @throws IllegalArgumentException when {@code jedis} is a Redis Cluster client and the stream
     *                                  key has no hash tag: the lease, cursor and stream would be in
     *                                  different slots and no commit could run
     */
    public StreamArchiver(UnifiedJedis jedis, String streamKey, ArchiveDirectory dir, ArchiveSettings settings, String owner,
                          Clock clock, Optional<CheckpointSigner> signer) {
        if (jedis instanceof JedisCluster && !hashTagged(streamKey)) {
            throw new IllegalArgumentException("the audit stream key " + streamKey + " has no hash tag ({...}); in Redis Cluster "
                    + "mode the archiver's keys (" + streamKey + ":archived, :archiver) must share the stream's slot: name the "
                    + "stream like pam:{audit}:records");
        }
        this.signer = signer;
        this.jedis = jedis;
        this.streamKey = streamKey;
        this.cursorKey = cursorKey(streamKey);
        this.dir = dir;
        this.settings = settings;
        this.lease = new ArchiveLease(jedis, streamKey, owner, settings.leaseTtl());
        this.clock = clock;
    }

    /** Whether a key has a Redis Cluster hash tag: a non-empty {@code {...}} part (the first '{' and the next '}'). */
    public static boolean hashTagged(String key) {
        int open = key.indexOf('{');
        int close = open < 0 ? -1 : key.indexOf('}', open + 1);
        return close > open + 1;
    }

    /** The Redis key holding the id of the newest archived entry. */
    public static String cursorKey(String streamKey) {
        return streamKey + ":archived";
    }

    public ArchiveLease lease() {
        return lease;
    }

    public long segmentsWritten() {
        return segmentsWritten;
    }

    public long entriesArchived() {
        return entriesArchived;
    }

    /**
     * One pass. {@code force}: cut a segment of whatever waits, due or not (pamctl
     * {@code --force}, shutdown of a standalone archiver).
     */
    public Pass runOnce(boolean force) throws IOException {
        if (!lease.acquire()) {
            recovered = false; // whoever holds it may write segments meanwhile: look again when we hold it
            return new Pass(false, 0, 0);
        }
        StreamId done = recover();
        int segments = 0;
        long entries = 0;
        while (segments < MAX_SEGMENTS_PER_PASS) {
            Optional<ArchiveDirectory.Segment> seg = copyNext(done, force);
            if (seg.isEmpty()) {
                break;
            }
            if (!commit(seg.get())) {
                return new Pass(false, segments, entries);
            }
            segments++;
            entries += lastCount;
            done = seg.get().last();
            if (!lease.acquire()) {
                recovered = false;
                return new Pass(false, segments, entries);
            }
        }
        if (!settings.retention().isZero()) {
            int deleted = dir.deleteOlderThan(clock.instant().minus(settings.retention()), seg -> manifest.retired(streamKey, seg));
            if (deleted > 0) {
                LOG.info("audit archive: {} segment(s) older than {} days deleted (PAM_AUDIT_ARCHIVE_RETENTION_DAYS)", deleted,
                        settings.retention().toDays());
            }
        }
        return new Pass(true, segments, entries);
    }

    /**
     * Where to resume: after the Redis cursor, or after the newest segment when that is further
     * (a crash or a Redis outage came between a segment's rename and its commit: commit it now).
     * The newest segment is the newest the manifest lists, never a file name alone.
     */
    private StreamId recover() throws IOException {
        if (!recovered) {
            int removed = dir.removeTemporaries();
            if (removed > 0) {
                LOG.info("audit archive: {} half-written segment(s) from an interrupted pass removed; their entries are still "
                        + "in the stream", removed);
            }
            reconcile();
        }
        StreamId cursor = cursor().orElse(StreamId.ZERO);
        if (listedUpTo.after(cursor)) {
            StreamId proven = provenArchived(cursor);
            LOG.info("audit archive: segment up to {} was written but the stream not yet trimmed (interrupted pass): trimming now",
                    proven);
            if (lease.commit(cursorKey, streamKey, proven)) {
                cursor = proven;
            }
        }
        recovered = true;
        return cursor;
    }

    /**
     * How far the segments listed past {@code cursor} prove archived, in manifest order: a
     * segment counts when its line is signed by this archiver's own key (Ed25519 signatures are
     * deterministic: signing the line's hash again gives its signature) and the file has the listed
     * SHA-256, or, failing that (no key configured, a line signed by a former key), when the file
     * holds exactly the stream's entries after the point proven so far. Each must resume at or
     * before the point proven so far. Anything less is refused: a manifest or file that only the
     * archive directory's writers vouch for never trims the stream.
     */
    private StreamId provenArchived(StreamId cursor) throws IOException {
        StreamId proven = cursor;
        // read again (the directory may have changed since reconcile, or reconcile ran passes ago): check what is read now
        Optional<ArchiveManifest.Contents> contents = ArchiveManifest.read(dir.dir());
        if (contents.isPresent()) {
            checkChain(contents.get());
        }
        List<ArchiveManifest.Line> lines = contents.map(ArchiveManifest.Contents::lines).orElse(List.of());
        for (ArchiveManifest.Line l : lines) {
            if (!l.adds() || !l.last().after(proven)) {
                continue;
            }
            Optional<ArchiveDirectory.Segment> seg = dir.segments().stream().filter(x -> x.name().equals(l.segment())).findFirst();
            boolean ok = seg.isPresent() && !l.after().after(proven) && seg.get().last().equals(l.last())
                    && ((ownSignature(l) && SegmentSummary.sha256Of(seg.get().path()).equals(l.sha256()))
                        || SegmentMatch.matches(jedis, streamKey, seg.get(), proven));
            if (!ok) {
                throw refusal(l.segment().isEmpty() ? "a line naming no segment" : "segment " + l.segment(), proven, l.last());
            }
            proven = l.last();
        }
        if (listedUpTo.after(proven)) {
            throw refusal("its last line", proven, listedUpTo);
        }
        return proven;
    }

    private boolean ownSignature(ArchiveManifest.Line l) {
        String sig = l.node().path(io.inferencepam.pam.record.chain.HashChain.SIG).asText("");
        // the signature covers the hash field; the hash must cover the line's content (segment, last, sha256)
        return signer.isPresent() && !sig.isEmpty() && ArchiveManifest.bodyHash(l.node()).equals(l.hash())
                && signer.get().sign(l.hash()).equals(sig);
    }

    private ArchiveMismatchException refusal(String what, StreamId proven, StreamId claimed) {
        return new ArchiveMismatchException("archive directory " + dir.dir() + ": " + ArchiveManifest.FILE + " lists entries of "
                + streamKey + " up to " + claimed + " (" + what + "), but only up to " + proven + " is proven archived (neither "
                + "signed with this archiver's key and matching its SHA-256, nor matching the stream entry by entry): refusing "
                + "to trim past " + proven + " or to archive into this directory; pamctl audit verify --file names what was "
                + "changed");
    }

    /** Refuses a manifest whose hash chain is broken or which names another stream on any line. */
    private void checkChain(ArchiveManifest.Contents c) throws ArchiveMismatchException {
        String prev = io.inferencepam.pam.record.chain.HashChain.GENESIS;
        for (int i = 0; i < c.lines().size(); i++) {
            ArchiveManifest.Line l = c.lines().get(i);
            Optional<String> fault = ArchiveManifest.chainFault(l, i, prev);
            if (fault.isEmpty() && !streamKey.equals(l.stream())) {
                fault = Optional.of("names stream " + l.stream());
            }
            if (fault.isPresent()) {
                throw new ArchiveMismatchException("archive directory " + dir.dir() + ": " + ArchiveManifest.FILE + " line "
                        + (i + 1) + " " + fault.get() + ": refusing to trim or archive by a manifest that does not verify; "
                        + "pamctl audit verify --file names what was changed");
            }
            prev = l.hash();
        }
    }

    /**
     * Reads the directory's manifest and makes it account for every segment before anything is
     * trimmed: refuses a manifest of another stream; lists a segment renamed into place just
     * before a crash (after the manifest's end); adopts the segments of a directory written
     * before manifests only when this stream's cursor already covers them (else their names
     * could trim entries never archived).
     */
    private void reconcile() throws IOException {
        Optional<ArchiveManifest.Contents> contents = ArchiveManifest.read(dir.dir());
        List<ArchiveDirectory.Segment> onDisk = dir.segments();
        Optional<String> of = contents.flatMap(ArchiveManifest.Contents::stream);
        if (of.isPresent() && !of.get().equals(streamKey)) {
            throw new ArchiveMismatchException("archive directory " + dir.dir() + " holds the archive of stream " + of.get()
                    + ", not of " + streamKey + " (PAM_AUDIT_STREAM changed?): refusing to archive or trim; give this stream a "
                    + "directory of its own");
        }
        if (contents.isPresent()) {
            checkChain(contents.get());
        }
        StreamId listed;
        try {
            listed = contents.flatMap(ArchiveManifest.Contents::lastAdding).map(ArchiveManifest.Line::last).orElse(StreamId.ZERO);
        } catch (IllegalArgumentException e) {
            throw new ArchiveMismatchException("archive directory " + dir.dir() + ": the last segment line of "
                    + ArchiveManifest.FILE + " names no stream id: refusing to trim or archive");
        }
        manifest = ArchiveManifest.forAppend(dir.dir(), contents, signer, clock);
        if (of.isEmpty()) {
            if (!onDisk.isEmpty()) {
                StreamId newest = onDisk.get(onDisk.size() - 1).last();
                Optional<StreamId> cursor = cursor();
                if (cursor.isEmpty() || newest.after(cursor.get())) {
                    throw new ArchiveMismatchException("archive directory " + dir.dir() + " holds segments without a manifest "
                            + "up to " + newest + ", past what stream " + streamKey + " has archived ("
                            + cursor.map(Object::toString).orElse("nothing") + "): they may be another stream's; refusing to "
                            + "trim by their names. Move them to another directory (pamctl audit verify --file reads them there); "
                            + "entries of this stream not yet trimmed are archived again");
                }
                LOG.warn("audit archive: {} segment(s) in {} written before manifests; adopted into {} (hashed now, not when "
                        + "written)", onDisk.size(), dir.dir(), ArchiveManifest.FILE);
            }
            manifest.open(streamKey);
            for (ArchiveDirectory.Segment seg : onDisk) {
                manifest.segment(streamKey, "adopted", seg.path(), listed, SegmentSummary.of(seg));
                listed = seg.last();
            }
        } else {
            Set<String> named = new HashSet<>();
            contents.get().lines().forEach(l -> named.add(l.segment()));
            for (ArchiveDirectory.Segment seg : onDisk) {
                if (named.contains(seg.name())) {
                    continue;
                }
                if (seg.first().after(listed)) {
                    if (!SegmentMatch.matches(jedis, streamKey, seg, listed)) {
                        throw new ArchiveMismatchException("archive directory " + dir.dir() + ": " + seg.name() + " is not listed "
                                + "in " + ArchiveManifest.FILE + " and does not hold the entries stream " + streamKey + " holds "
                                + "after " + listed + " up to its name's last id (planted, or another stream's): refusing to list "
                                + "it or trim by it; move it away");
                    }
                    LOG.info("audit archive: segment {} was made durable just before an interruption; listing it in {}",
                            seg.name(), ArchiveManifest.FILE);
                    manifest.segment(streamKey, "segment", seg.path(), listed, SegmentSummary.of(seg));
                    listed = seg.last();
                } else {
                    LOG.warn("audit archive: {} is not listed in {} and lies inside the listed range: not written by this "
                            + "archive's archivers; ignored (pamctl audit verify reports it)", seg.name(), ArchiveManifest.FILE);
                }
            }
        }
        listedUpTo = listed;
    }

    /** The newest archived id as recorded in Redis. */
    public Optional<StreamId> cursor() {
        return Optional.ofNullable(jedis.get(cursorKey)).map(StreamId::parse);
    }

    /**
     * Copies the entries after {@code after} into a new durable segment when one is due; empty
     * when nothing is due. Does not trim: {@link #commit} does, after this returned.
     */
    public Optional<ArchiveDirectory.Segment> copyNext(StreamId after, boolean force) throws IOException {
        if (manifest == null) {
            reconcile();
        }
        List<StreamEntry> page = jedis.xrange(streamKey, "(" + after, "+", PAGE);
        if (page.isEmpty()) {
            return Optional.empty();
        }
        if (!force && !due(page)) {
            return Optional.empty();
        }
        try (ArchiveDirectory.SegmentWriter w = dir.newSegment()) {
            while (true) {
                for (StreamEntry e : page) {
                    // an entry without "r" was not written by a runner: archived as an empty object, which verify reports
                    w.append(e.getID().toString(), e.getFields().getOrDefault("r", "{}"));
                    if (w.bytes() >= settings.segmentBytes()) {
                        break;
                    }
                }
                if (w.bytes() >= settings.segmentBytes() || page.size() < PAGE) {
                    break;
                }
                page = jedis.xrange(streamKey, "(" + page.get(page.size() - 1).getID(), "+", PAGE);
                if (page.isEmpty()) {
                    break;
                }
            }
            // the segment is renamed into place only while this archiver still holds the lease
            if (!lease.acquire()) {
                recovered = false;
                throw new IOException("the archive lease was lost while writing a segment (another archiver took over)");
            }
            long entries = w.entries();
            bytesPerEntry = Math.max(1, w.bytes() / entries);
            Optional<ArchiveDirectory.Written> written = w.commit();
            if (written.isPresent()) {
                // listed before the trim: a crash here leaves a durable segment that reconcile lists
                manifest.segment(streamKey, "segment", written.get().segment().path(), after, written.get().summary());
                listedUpTo = written.get().segment().last();
            }
            lastCount = entries;
            return written.map(ArchiveDirectory.Written::segment);
        }
    }

    /** Trims the stream up to the segment's last entry (fenced by the lease); false when the lease was lost. */
    public boolean commit(ArchiveDirectory.Segment segment) {
        if (!lease.commit(cursorKey, streamKey, segment.last())) {
            LOG.warn("audit archive: the lease was lost before segment {} was committed; the next holder resumes after it",
                    segment.path().getFileName());
            recovered = false;
            return false;
        }
        segmentsWritten++;
        entriesArchived += lastCount;
        return true;
    }

    /** A segment is due when the oldest waiting entry is old enough or, by estimate, enough bytes wait. */
    private boolean due(List<StreamEntry> firstPage) {
        long oldestMs = firstPage.get(0).getID().getTime();
        if (clock.millis() - oldestMs >= settings.segmentAge().toMillis()) {
            return true;
        }
        if (firstPage.size() < PAGE && estimate(firstPage) < settings.segmentBytes()) {
            return false; // all that waits is on this page
        }
        long perEntry = bytesPerEntry > 0 ? bytesPerEntry : estimate(firstPage) / firstPage.size();
        return jedis.xlen(streamKey) * perEntry >= settings.segmentBytes();
    }

    private static long estimate(List<StreamEntry> entries) {
        long n = 0;
        for (StreamEntry e : entries) {
            n += e.getFields().getOrDefault("r", "").length() + 48;
        }
        return n;
    }

    public void close() {
        try {
            lease.release();
        } catch (RuntimeException e) {
            LOG.debug("audit archive: lease not released ({}); it expires by itself", e.getClass().getSimpleName());
        }
    }
}
