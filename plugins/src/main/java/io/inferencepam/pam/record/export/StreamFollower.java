package io.inferencepam.pam.record.export;

import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.archive.StreamLine;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XReadParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Tails the audit stream from a saved position and writes each entry as a {@link StreamLine}
 * (the entry byte for byte, with its stream id), at least once: a batch is written and made
 * durable by the output first, the position saved after. A crash between the two delivers that
 * batch again after the restart: the same stream ids, which consumers use to drop repeats.
 * Never skips: when the stream no longer holds what follows the position (trimmed after
 * archiving, or by the emergency cap), it stops with {@link GapException} instead of jumping.
 */
public final class StreamFollower {

    /** Where lines go; {@link #durable} returns once what was written survives a crash (as far as the output can). */
    public interface Output {
        void write(byte[] line) throws IOException;

        void durable() throws IOException;
    }

    /** The stream no longer holds the entries right after the saved position. */
    public static final class GapException extends Exception {
        public GapException(String message) {
            super(message);
        }
    }

    private final UnifiedJedis jedis;
    private final String streamKey;
    private final PositionFile position;
    private final Output output;
    private final int count;
    private final Duration block;
    private StreamId at;

    public StreamFollower(UnifiedJedis jedis, String streamKey, PositionFile position, Output output, int count, Duration block)
            throws IOException {
        this.jedis = jedis;
        this.streamKey = streamKey;
        this.position = position;
        this.output = output;
        this.count = count;
        this.block = block;
        this.at = position.read();
    }

    public StreamId position() {
        return at;
    }

    /** Delivers the next batch (waiting up to the block time for one); returns how many entries. */
    public int step() throws IOException, GapException {
        List<Map.Entry<String, List<StreamEntry>>> reply = jedis.xread(
                XReadParams.xReadParams().count(count).block((int) block.toMillis()),
                Map.of(streamKey, new StreamEntryID(at.millis(), at.seq())));
        // after the read: trimming only ever raises the head, so a head at or before the position
        // now was there during the read too, and nothing between the position and the batch was trimmed
        checkNoGap();
        if (reply == null || reply.isEmpty() || reply.get(0).getValue().isEmpty()) {
            return 0;
        }
        List<StreamEntry> entries = reply.get(0).getValue();
        for (StreamEntry e : entries) {
            output.write(StreamLine.encodeUtf8(e.getID().toString(), e.getFields().getOrDefault("r", "{}")));
        }
        output.durable();
        StreamEntryID last = entries.get(entries.size() - 1).getID();
        at = new StreamId(last.getTime(), last.getSequence());
        position.write(at);
        return entries.size();
    }

    /**
     * The archiver keeps the last archived entry at the stream's head (XTRIM MINID), so a follower
     * that keeps up always finds its position, or an older one, there. A head newer than the
     * position means entries after it may have been trimmed unread.
     */
    private void checkNoGap() throws GapException {
        if (at.equals(StreamId.ZERO)) {
            return;
        }
        List<StreamEntry> head = jedis.xrange(streamKey, "-", "+", 1);
        if (head.isEmpty()) {
            return;
        }
        StreamEntryID h = head.get(0).getID();
        StreamId first = new StreamId(h.getTime(), h.getSequence());
        if (first.after(at)) {
            throw new GapException("the stream now starts at " + first + ", after this export's position " + at
                    + ": entries after " + at + " and before " + first + " may have been trimmed (archived) before they were "
                    + "exported. Export them from the archive (pamctl audit export --file ARCHIVE_DIR), then set the position "
                    + "file to " + first + " to go on");
        }
    }
}
