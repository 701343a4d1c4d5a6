package io.inferencepam.pam.record.spool;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * This runner's chain head on local disk ({@code chain-head} in the spool directory), so the next
 * lifetime links its first entry to the last one this one made durable, whatever the store says
 * by then: someone who can write the store but not this disk cannot make a cut tail look like
 * the end of the chain.
 *
 * <p>One fixed-size record rewritten in place (one positional write per durable batch, no file
 * creation, no rename) with a CRC, so a torn write reads as "no head" rather than as a wrong
 * one. It is forced to disk when the batch went to the spool; when the batch went to the store,
 * the store has the same head, and the next start takes the newer of the two.
 */
public final class ChainHeadFile implements AutoCloseable {
    public static final String NAME = "chain-head";
    private static final int SIZE = 512;

    private final FileChannel channel;
    private final Optional<ChainHead> atStart;
    // under this monitor (the store thread; close() when the store hangs); stored is read by the control API
    private ChainHead durable;
    private volatile ChainHead stored;
    private final StringBuilder line = new StringBuilder(SIZE);
    private final byte[] record = new byte[SIZE];
    private String encodedFor;
    private String encodedInstance;

    private ChainHeadFile(FileChannel channel, Optional<ChainHead> atStart) {
        this.channel = channel;
        this.atStart = atStart;
        this.durable = atStart.orElse(null);
    }

    /** Opens (creating) the head file of {@code dir}; the caller holds the spool directory's lock. */
    public static ChainHeadFile open(Path dir) throws IOException {
        Path p = dir.resolve(NAME);
        Optional<ChainHead> head = Files.exists(p) ? parse(Files.readAllBytes(p)) : Optional.empty();
        return new ChainHeadFile(FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE), head);
    }

    /** The head the previous lifetime left, if readable. */
    public Optional<ChainHead> atStart() {
        return atStart;
    }

    /** The newest entry of this lifetime known to be in the store (not only spooled), if any yet. */
    public Optional<ChainHead> stored() {
        return Optional.ofNullable(stored);
    }

    /**
     * Entries up to {@code head} are durable: in the store ({@code inStore}) or in the spool.
     * Only moves forward per instance; a new instance id replaces the head.
     */
    public synchronized void durable(ChainHead head, boolean inStore) throws IOException {
        if (inStore) {
            ChainHead s = stored;
            if (s == null || !s.instance().equals(head.instance()) || head.seq() > s.seq()) {
                stored = head;
            }
        }
        ChainHead d = durable;
        if (d != null && d.instance().equals(head.instance()) && head.seq() <= d.seq()) {
            return;
        }
        durable = head;
        ByteBuffer buf = ByteBuffer.wrap(encode(head));
        while (buf.hasRemaining()) {
            channel.write(buf, buf.position());
        }
        if (!inStore) {
            channel.force(false); // the spool was fsynced: a head older than the spool would fork the chain at restart
        }
    }

    /**
     * The record: canonical JSON (sorted keys), a space, its CRC-32, padded with spaces. Built by
     * hand into a reused buffer (the store thread writes one per batch); the instance id, the only
     * string that may need escaping, is encoded once.
     */
    byte[] encode(ChainHead h) {
        if (!h.instance().equals(encodedFor)) {
            encodedInstance = CanonicalJson.write(com.fasterxml.jackson.databind.node.TextNode.valueOf(h.instance()));
            encodedFor = h.instance();
        }
        line.setLength(0);
        line.append("{\"at\":").append(h.atMillis()).append(",\"hash\":\"").append(h.hash()).append("\",\"instance\":")
                .append(encodedInstance).append(",\"seq\":").append(h.seq()).append('}');
        String json = line.toString();
        line.append(' ').append(crc(json)).append('\n');
        byte[] text = line.toString().getBytes(StandardCharsets.UTF_8);
        if (text.length > SIZE) {
            throw new IllegalArgumentException("audit instance id too long for the chain head file");
        }
        Arrays.fill(record, (byte) ' ');
        System.arraycopy(text, 0, record, 0, text.length);
        return record;
    }

    static Optional<ChainHead> parse(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8).strip();
        int sp = text.lastIndexOf(' ');
        if (sp < 0) {
            return Optional.empty();
        }
        String json = text.substring(0, sp);
        if (!crc(json).equals(text.substring(sp + 1))) {
            return Optional.empty();
        }
        try {
            JsonNode n = CanonicalJson.parse(json);
            return Optional.of(new ChainHead(n.get("instance").asText(), n.get("seq").asLong(), n.get("hash").asText(),
                    n.get("at").asLong()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String crc(String json) {
        CRC32 c = new CRC32();
        c.update(json.getBytes(StandardCharsets.UTF_8));
        return Long.toHexString(c.getValue());
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
