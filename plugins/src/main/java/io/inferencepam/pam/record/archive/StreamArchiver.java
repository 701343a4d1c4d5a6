package io.inferencepam.pam.record.archive;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Moves audit stream entries into archive segments and trims the stream behind them, never past
 * the last archived entry. One pass ({@link #runOnce}): take or renew the lease; resume after the
 * newest archived id (the Redis cursor or, when a crash came between the rename and the trim, the
 * newest segment's name); while a segment is due (enough bytes wait, or the oldest waiting entry
 * is old enough), copy the next entries into a segment, make it durable, then commit
 * ({@code archive_commit.lua}: cursor and {@code XTRIM MINID}, fenced by the lease); delete
 * segments past the retention. Not thread-safe: one caller at a time.
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
    private boolean recovered;
    /** Average bytes per archived line, learned from segments written (to judge when enough waits). */
    private long bytesPerEntry = 0;
    private long segmentsWritten;
    private long entriesArchived;
    /** Entries in the segment {@link #copyNext} wrote last. */
    private long lastCount;

    public StreamArchiver(UnifiedJedis jedis, String streamKey, ArchiveDirectory dir, ArchiveSettings settings, String owner,
                          Clock clock) {
        this.jedis = jedis;
        this.streamKey = streamKey;
        this.cursorKey = cursorKey(streamKey);
        this.dir = dir;
        this.settings = settings;
        this.lease = new ArchiveLease(jedis, streamKey, owner, settings.leaseTtl());
        this.clock = clock;
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
            int deleted = dir.deleteOlderThan(clock.instant().minus(settings.retention()));
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
     */
    private StreamId recover() throws IOException {
        if (!recovered) {
            int removed = dir.removeTemporaries();
            if (removed > 0) {
                LOG.info("audit archive: {} half-written segment(s) from an interrupted pass removed; their entries are still "
                        + "in the stream", removed);
            }
        }
        StreamId cursor = cursor().orElse(StreamId.ZERO);
        Optional<StreamId> onDisk = dir.lastArchived();
        if (onDisk.isPresent() && onDisk.get().after(cursor)) {
            LOG.info("audit archive: segment up to {} was written but the stream not yet trimmed (interrupted pass): trimming now",
                    onDisk.get());
            if (lease.commit(cursorKey, streamKey, onDisk.get())) {
                cursor = onDisk.get();
            }
        }
        recovered = true;
        return cursor;
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
            Optional<ArchiveDirectory.Segment> seg = w.commit();
            lastCount = entries;
            return seg;
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
