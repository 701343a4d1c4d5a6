package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An audit entry in its canonical form (RFC 8785) without its chain fields, and where each of
 * them ({@code hash}, {@code instance}, {@code prev}, {@code seq}) sorts among the entry's own
 * members: {@link HashChain#linkAndEncode(UnlinkedEntry)} splices them in with copies, without
 * serializing again. Built by whoever knows the entry (on any thread), linked by the writer thread
 * that owns the chain. Never modify {@code bytes}.
 */
public record UnlinkedEntry(byte[] bytes, int length, int[] slots) {
    /** The chain fields, sorted: the order of {@link #slots}. */
    static final String[] CHAIN_FIELDS = {HashChain.HASH, HashChain.INSTANCE, HashChain.PREV, HashChain.SEQ};
    static final int HASH_SLOT = 0;
    private static final String[] REFUSED = {HashChain.SIG};

    /**
     * A writer for one entry: its top-level object is open; write the members in canonical order
     * (never a chain field, nor {@code sig}), then call {@link #finish}.
     */
    public static JcsWriter begin(int expectedBytes) {
        JcsWriter w = new JcsWriter(new CanonicalJson.Utf8Buffer(expectedBytes), CHAIN_FIELDS, REFUSED);
        w.beginObject();
        return w;
    }

    /** Closes the entry {@link #begin} opened. */
    public static UnlinkedEntry finish(JcsWriter w) {
        w.endObject();
        int[] slots = new int[CHAIN_FIELDS.length];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = w.slot(i);
        }
        CanonicalJson.Utf8Buffer b = w.buffer();
        return new UnlinkedEntry(b.array(), b.length(), slots);
    }

    /**
     * The entry held by a JSON object, without the chain fields and {@code sig} it may carry (those
     * the chain sets): how records built as trees, and lines read back from the overflow spool, are linked.
     */
    public static UnlinkedEntry of(JsonNode entry) {
        if (!entry.isObject()) {
            throw new IllegalArgumentException("an audit entry is a JSON object");
        }
        JcsWriter w = begin(512);
        for (String name : CanonicalJson.sortedNames(entry)) {
            if (!isChainField(name)) {
                w.key(name);
                CanonicalJson.write(entry.get(name), w);
            }
        }
        return finish(w);
    }

    private static boolean isChainField(String name) {
        for (String f : CHAIN_FIELDS) {
            if (f.equals(name)) {
                return true;
            }
        }
        return HashChain.SIG.equals(name);
    }

    /** The canonical JSON without the chain fields (what the overflow spool keeps of a record). */
    public String json() {
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }

    /** The entry as a tree (for tests and tools; the write path never builds one). */
    public com.fasterxml.jackson.databind.node.ObjectNode toTree() {
        try {
            return (com.fasterxml.jackson.databind.node.ObjectNode) CanonicalJson.parse(toByteArray());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(bytes, length);
    }
}
