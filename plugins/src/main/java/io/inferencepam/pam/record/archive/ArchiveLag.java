package io.inferencepam.pam.record.archive;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * How far archiving is behind the stream, read from Redis (three commands; any runner or pamctl
 * can measure it, archiver or not).
 *
 * @param unarchived      entries after the archived cursor (approximately: the stream's length less
 *                        the archived entry it keeps at its head)
 * @param oldestAgeMillis age of the oldest entry not yet archived (0: none waits)
 * @param lostUnarchived  the stream's oldest entry is newer than the archived cursor: something other
 *                        than the archiver trimmed it (the opt-in emergency cap, an age limit, or a
 *                        person), so entries may be gone that were never archived
 * @param cursor          the newest archived id, if anything was ever archived
 */
public record ArchiveLag(long unarchived, long oldestAgeMillis, boolean lostUnarchived, Optional<StreamId> cursor) {

    public static ArchiveLag measure(UnifiedJedis jedis, String streamKey, Clock clock) {
        Optional<StreamId> cursor = Optional.ofNullable(jedis.get(StreamArchiver.cursorKey(streamKey))).map(StreamId::parse);
        long len = jedis.xlen(streamKey);
        if (len == 0) {
            return new ArchiveLag(0, 0, false, cursor);
        }
        List<StreamEntry> head = jedis.xrange(streamKey, "-", "+", 1);
        StreamId first = head.isEmpty() ? null : StreamId.parse(head.get(0).getID().toString());
        boolean lost = cursor.isPresent() && first != null && first.after(cursor.get());
        List<StreamEntry> next = cursor.isEmpty() ? head : jedis.xrange(streamKey, "(" + cursor.get(), "+", 1);
        long unarchived = cursor.isPresent() && first != null && !first.after(cursor.get()) ? len - 1 : len;
        long age = next.isEmpty() ? 0 : Math.max(0, clock.millis() - next.get(0).getID().getTime());
        return new ArchiveLag(next.isEmpty() ? 0 : unarchived, age, lost, cursor);
    }

    public boolean behind(ArchiveSettings s) {
        return unarchived >= s.alertEntries() || oldestAgeMillis >= s.alertAge().toMillis();
    }
}
