package io.inferencepam.pam.record.archive;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Whether a segment file holds exactly what the stream holds after a given entry up to the
 * segment's last: the proof the archiver asks before it trims behind a segment it cannot
 * otherwise vouch for (one renamed into place but not yet in the manifest, or any segment when
 * no signing key is configured). Compares line by line in the segment's own format, so a planted
 * file (empty, shorter, another stream's, reordered) never matches while those entries are still
 * in the stream, and a gap between {@code after} and the segment's first entry fails too.
 */
final class SegmentMatch {
    private static final int PAGE = 500;

    private SegmentMatch() {
    }

    static boolean matches(UnifiedJedis jedis, String streamKey, ArchiveDirectory.Segment seg, StreamId after) throws IOException {
        StreamId[] from = {after};
        Deque<StreamEntry> page = new ArrayDeque<>();
        boolean[] same = {true};
        ArchiveDirectory.scan(List.of(seg.path()), e -> {
            StreamId id = StreamId.parseOrNull(e.position());
            if (id == null) {
                same[0] = false; // not a line the archiver writes
                return false;
            }
            if (!id.after(after)) {
                return true; // archived and trimmed before: not what a trim behind this segment would remove
            }
            if (page.isEmpty()) {
                page.addAll(jedis.xrange(streamKey, "(" + from[0], seg.last().toString(), PAGE));
            }
            StreamEntry s = page.pollFirst();
            if (s == null || !StreamLine.encode(s.getID().toString(), s.getFields().getOrDefault("r", "{}"))
                    .equals(StreamLine.encode(e.position(), e.json()))) {
                same[0] = false;
                return false;
            }
            from[0] = StreamId.parse(s.getID().toString());
            return true;
        });
        if (!same[0] || !page.isEmpty()) {
            return false;
        }
        // the stream holds nothing more up to the segment's last: the segment holds all of it
        return jedis.xrange(streamKey, "(" + from[0], seg.last().toString(), 1).isEmpty() && !from[0].equals(after)
                && from[0].equals(seg.last());
    }
}
