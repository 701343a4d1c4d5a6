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
 * <p>Two fixed-size slots, in different pages, written in turn (one positional write per durable
 * batch, no file creation, no rename), each with a generation number and a CRC: a write torn by
 * a crash leaves the other slot, one head older, and the newer valid slot is the head (a torn
 * slot reads as nothing rather than as a wrong head). It is forced to disk when the batch went to
 * the spool; when the batch went to the store, the store has the same head, and the next start
 * takes the newer of the two.
 */
public final class ChainHeadFile implements AutoCloseable {
    public static final String NAME = "chain-head";
    private static final int SIZE = 512;
    /** Where the second slot starts: another page, so one torn page write cannot take both. */
    private static final int SLOT = 4096;

    private final FileChannel channel;
    private final Optional<ChainHead> atStart;
    // under this monitor (the store thread; close() when the store hangs); stored is read by the control API
    private ChainHead durable;
    private volatile ChainHead stored;
    private final StringBuilder line = new StringBuilder(SIZE);
    private final byte[] record = new byte[SIZE];
    private String encodedFor;
    private String encodedInstance;
    /** Generation of the last slot written: the next write goes to slot {@code (generation + 1) % 2}. */
    private long generation;

    private ChainHeadFile(FileChannel channel, Optional<Slot> atStart) {
        this.channel = channel;
        this.atStart = atStart.map(Slot::head);
        this.durable = this.atStart.orElse(null);
        this.generation = atStart.map(Slot::generation).orElse(0L);
    }

    /** One slot's content. */
    record Slot(ChainHead head, long generation) {
    }

    /** Opens (creating) the head file of {@code dir}; the caller holds the spool directory's lock. */
    public static ChainHeadFile open(Path dir) throws IOException {
        Path p = dir.resolve(NAME);
        Optional<Slot> head = Optional.empty();
        if (Files.exists(p)) {
            byte[] all = Files.readAllBytes(p);
            for (int at : new int[] {0, SLOT}) {
                Optional<Slot> s = at < all.length ? parse(Arrays.copyOfRange(all, at, Math.min(all.length, at + SIZE))) : Optional.empty();
                if (s.isPresent() && (head.isEmpty() || s.get().generation() > head.get().generation())) {
                    head = s;
                }
            }
        }
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
        generation++;
        ByteBuffer buf = ByteBuffer.wrap(encode(head, generation));
        long at = generation % 2 == 0 ? 0 : SLOT;
        while (buf.hasRemaining()) {
            channel.write(buf, at + buf.position());
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
    byte[] encode(ChainHead h, long gen) {
        if (!h.instance().equals(encodedFor)) {
            encodedInstance = CanonicalJson.write(com.fasterxml.jackson.databind.node.TextNode.valueOf(h.instance()));
            encodedFor = h.instance();
        }
        line.setLength(0);
        line.append("{\"at\":").append(h.atMillis()).append(",\"gen\":").append(gen).append(",\"hash\":\"").append(h.hash()).append("\",\"instance\":")
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

    static Optional<Slot> parse(byte[] bytes) {
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
            return Optional.of(new Slot(new ChainHead(n.get("instance").asText(), n.get("seq").asLong(), n.get("hash").asText(),
                    n.get("at").asLong()), n.get("gen").asLong()));
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
