package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
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
    /** The {@code prev} of the last entry linked. */
    private String prevOfLast;
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

    /** {@link #linkAndWrite} as UTF-8 bytes: also sets the chain fields on {@code entry}. */
    public byte[] linkAndEncode(ObjectNode entry) {
        byte[] line = linkAndEncode(UnlinkedEntry.of(entry));
        entry.remove(SIG);
        entry.put(INSTANCE, instance);
        entry.put(SEQ, seq);
        entry.put(PREV, prevOfLast);
        entry.put(HASH, last);
        return line;
    }

    /**
     * Links an entry written in canonical form (the writer's hot path): the chain fields are
     * spliced in where they sort, with copies, into a reused buffer whose bytes feed the digest
     * as they are; the hash, taken over everything but its own member, is filled in last.
     */
    public byte[] linkAndEncode(UnlinkedEntry entry) {
        buffer.reset();
        byte[] u = entry.bytes();
        int[] slots = entry.slots();
        int close = entry.length() - 1; // the entry's closing brace
        buffer.put((byte) '{');
        boolean any = false;
        int from = 1;
        int hashStart = -1;
        boolean hashLed = false;
        for (int i = 0; i < slots.length; i++) {
            any |= copyMembers(u, from, slots[i], any);
            from = slots[i];
            if (any) {
                buffer.put((byte) ',');
            }
            switch (i) {
                case UnlinkedEntry.HASH_SLOT -> {
                    hashLed = any;
                    hashStart = buffer.length();
                    buffer.put(HASH_FIELD, 0, HASH_FIELD.length);
                    buffer.put(HOLE, 0, HOLE.length);
                    buffer.put((byte) '"');
                }
                case 1 -> {
                    buffer.putAscii("\"instance\":");
                    JcsWriter.string(instance, buffer);
                }
                case 2 -> {
                    buffer.putAscii("\"prev\":");
                    JcsWriter.string(last, buffer);
                }
                default -> {
                    buffer.putAscii("\"seq\":");
                    JcsWriter.number(seq + 1, buffer);
                }
            }
            any = true;
        }
        copyMembers(u, from, close, any);
        buffer.put((byte) '}');
        // The form without the hash member: without its leading comma, or, when it came first,
        // without the comma that follows it.
        byte[] b = buffer.array();
        int len = buffer.length();
        int hashEnd = hashStart + HASH_FIELD.length + HOLE.length + 1;
        int cutFrom = hashLed ? hashStart - 1 : hashStart;
        int cutTo = !hashLed && b[hashEnd] == ',' ? hashEnd + 1 : hashEnd;
        digest.update(b, 0, cutFrom);
        digest.update(b, cutTo, len - cutTo);
        byte[] hex = hex(digest.digest());
        System.arraycopy(hex, 0, b, hashStart + HASH_FIELD.length, hex.length);
        byte[] out = Arrays.copyOf(b, len);
        advance(new String(hex, StandardCharsets.US_ASCII)); // last: an entry that failed before this point leaves no gap
        return out;
    }

    /**
     * Copies the entry's members in {@code [from, to)} (whole members, from a member start; a
     * trailing comma is dropped), after a comma if something came before; true if it copied any.
     */
    private boolean copyMembers(byte[] u, int from, int to, boolean any) {
        if (to > from && u[to - 1] == ',') {
            to--;
        }
        if (to <= from) {
            return false;
        }
        if (any) {
            buffer.put((byte) ',');
        }
        buffer.put(u, from, to);
        return true;
    }

    /**
     * The chain moves on only once an entry is hashed: an entry that fails to serialize leaves
     * no gap, so the next one takes its sequence number.
     */
    private void advance(String hash) {
        seq++;
        prevOfLast = last;
        last = hash;
    }

    private static final byte[] HASH_FIELD = "\"hash\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HOLE = new byte[64];
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

    /**
     * Never updated: only cloned. A clone costs a copy of the initial state; getInstance walks the
     * provider list on every call (two bodies hashed per call, measured in the writer's profile).
     */
    private static final MessageDigest SHA256 = lookUpSha256();

    private static MessageDigest lookUpSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static MessageDigest newSha256() {
        try {
            return (MessageDigest) SHA256.clone();
        } catch (CloneNotSupportedException e) {
            return lookUpSha256();
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
        return HexFormat.of().formatHex(newSha256().digest(bytes));
    }
}
