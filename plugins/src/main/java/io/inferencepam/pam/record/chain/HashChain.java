package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hash chain of one runner instance. Each entry carries {@code instance}, {@code seq}
 * (1, 2, 3, … with no gaps), {@code prev} (the previous entry's hash; 64 zeros for seq 1) and
 * {@code hash} = hex SHA-256 of the canonical JSON of the entry without {@code hash} and
 * {@code sig}. One chain per instance across the runner's lifetimes: a restart goes on from the
 * last entry the previous lifetime made durable. Not thread-safe: one writer thread owns it.
 */
public final class HashChain {
    public static final String GENESIS = "0".repeat(64);
    public static final String INSTANCE = "instance";
    public static final String SEQ = "seq";
    public static final String PREV = "prev";
    public static final String HASH = "hash";
    public static final String SIG = "sig";

    private final String instance;
    private long seq;
    private String last = GENESIS;
    private final CanonicalJson.Utf8Buffer buffer = new CanonicalJson.Utf8Buffer(4096);
    private final MessageDigest digest = newSha256();

    public HashChain(String instance) {
        this.instance = instance;
    }

    /** A chain that goes on after entry {@code seq} with hash {@code lastHash} (a previous lifetime's last entry). */
    public HashChain(String instance, long seq, String lastHash) {
        this.instance = instance;
        this.seq = seq;
        this.last = lastHash;
    }

    public String instance() {
        return instance;
    }

    public long seq() {
        return seq;
    }

    public String lastHash() {
        return last;
    }

    /** Links {@code entry} as the next element of the chain (mutates and returns it). */
    public ObjectNode link(ObjectNode entry) {
        entry.put(INSTANCE, instance);
        entry.put(SEQ, seq + 1);
        entry.put(PREV, last);
        entry.remove(HASH);
        entry.remove(SIG);
        String h = hashOf(entry);
        entry.put(HASH, h);
        advance(h);
        return entry;
    }

    /**
     * {@link #link}, returning the entry's canonical JSON too, serialized once: the hash is taken
     * over the form without {@code hash}, then spliced in where it sorts.
     */
    public String linkAndWrite(ObjectNode entry) {
        return new String(linkAndEncode(entry), StandardCharsets.UTF_8);
    }

    /**
     * {@link #linkAndWrite} as UTF-8 bytes, the writer's hot path: the canonical form is built
     * once into a reused buffer, hashed with a reused digest, and the {@code hash} field is
     * spliced in where it sorts with one copy. No intermediate String.
     */
    public byte[] linkAndEncode(ObjectNode entry) {
        entry.put(INSTANCE, instance);
        entry.put(SEQ, seq + 1);
        entry.put(PREV, last);
        entry.remove(HASH);
        entry.remove(SIG);
        buffer.reset();
        int split = CanonicalJson.writeUtf8Split(entry, HASH, buffer);
        byte[] b = buffer.array();
        int len = buffer.length();
        digest.update(b, 0, len);
        byte[] hex = hex(digest.digest());
        String h = new String(hex, StandardCharsets.US_ASCII);
        entry.put(HASH, h);
        // before = [0, split); after = [split, len), which starts with the separator of the next
        // field, or is the closing brace. Result: before [","] "hash":"<h>" ["," next fields] "}".
        boolean first = split == 1; // nothing before: "{" only
        boolean lastField = b[split] == '}';
        int afterStart = b[split] == ',' ? split + 1 : split;
        byte[] out = new byte[len + HASH_FIELD.length + hex.length + 1 + (first ? 0 : 1) + (lastField ? 0 : 1)
                - (afterStart - split)];
        int p = 0;
        System.arraycopy(b, 0, out, p, split);
        p += split;
        if (!first) {
            out[p++] = ',';
        }
        System.arraycopy(HASH_FIELD, 0, out, p, HASH_FIELD.length);
        p += HASH_FIELD.length;
        System.arraycopy(hex, 0, out, p, hex.length);
        p += hex.length;
        out[p++] = '"';
        if (!lastField) {
            out[p++] = ',';
        }
        System.arraycopy(b, afterStart, out, p, len - afterStart);
        advance(h); // last: an entry that failed before this point (even an OutOfMemoryError) leaves no gap
        return out;
    }

    /**
     * The chain moves on only once an entry is hashed: an entry that fails to serialize leaves
     * no gap, so the next one takes its sequence number.
     */
    private void advance(String hash) {
        seq++;
        last = hash;
    }

    private static final byte[] HASH_FIELD = "\"hash\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private static byte[] hex(byte[] raw) {
        byte[] out = new byte[raw.length * 2];
        for (int i = 0; i < raw.length; i++) {
            out[2 * i] = HEX_DIGITS[(raw[i] >> 4) & 0xF];
            out[2 * i + 1] = HEX_DIGITS[raw[i] & 0xF];
        }
        return out;
    }

    /** The hash an entry should carry, recomputed from its content. */
    public static String hashOf(JsonNode entry) {
        ObjectNode copy = ((ObjectNode) entry).deepCopy();
        copy.remove(HASH);
        copy.remove(SIG);
        return sha256Hex(CanonicalJson.utf8(copy));
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256Hex(String text) {
        return sha256Hex(text.getBytes(StandardCharsets.UTF_8));
    }

    public static String sha256Hex(java.nio.ByteBuffer bytes) {
        MessageDigest d = newSha256();
        d.update(bytes);
        return HexFormat.of().formatHex(d.digest());
    }

    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
