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
 * {@code sig}. Not thread-safe: one writer thread owns it.
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

    public HashChain(String instance) {
        this.instance = instance;
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
        entry.put(SEQ, ++seq);
        entry.put(PREV, last);
        entry.remove(HASH);
        entry.remove(SIG);
        String h = hashOf(entry);
        entry.put(HASH, h);
        last = h;
        return entry;
    }

    /** The hash an entry should carry, recomputed from its content. */
    public static String hashOf(JsonNode entry) {
        ObjectNode copy = ((ObjectNode) entry).deepCopy();
        copy.remove(HASH);
        copy.remove(SIG);
        return sha256Hex(CanonicalJson.write(copy));
    }

    public static String sha256Hex(String text) {
        return sha256Hex(text.getBytes(StandardCharsets.UTF_8));
    }

    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
