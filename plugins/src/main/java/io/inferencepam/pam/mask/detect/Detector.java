package io.inferencepam.pam.mask.detect;

/**
 * Finds one kind of sensitive value. Implementations must run in time linear in the text length
 * (the text is attacker-influenced model output): anchored scans with bounded look-around, RE2/J,
 * or Aho–Corasick — never java.util.regex. Implementations are immutable and thread-safe.
 */
public interface Detector {

    /** Stable name used in conf, counts and the audit record, e.g. {@code email}. */
    String name();

    /** Reports every candidate in {@code text} to {@code sink} (overlaps are resolved by the caller). */
    void scan(String text, Sink sink);

    /** Same as {@link #scan(String, Sink)}, with facts about the text shared by the detectors of a set. */
    default void scan(String text, TextIndex index, Sink sink) {
        scan(text, sink);
    }

    @FunctionalInterface
    interface Sink {
        void found(int start, int end);
    }
}
