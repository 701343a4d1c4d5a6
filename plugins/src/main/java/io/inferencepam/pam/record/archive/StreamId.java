package io.inferencepam.pam.record.archive;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Redis stream entry id ({@code <ms>-<seq>}), ordered as Redis orders them. */
public record StreamId(long millis, long seq) implements Comparable<StreamId> {
    public static final StreamId ZERO = new StreamId(0, 0);
    private static final Pattern FORMAT = Pattern.compile("(\\d{1,19})-(\\d{1,19})");

    public static StreamId parse(String text) {
        Matcher m = FORMAT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a stream id");
        }
        return new StreamId(Long.parseUnsignedLong(m.group(1)), Long.parseUnsignedLong(m.group(2)));
    }

    /** The id, or null when {@code text} is not one (a file position, say). */
    public static StreamId parseOrNull(String text) {
        return text != null && FORMAT.matcher(text).matches() ? parse(text) : null;
    }

    @Override
    public int compareTo(StreamId o) {
        int c = Long.compareUnsigned(millis, o.millis);
        return c != 0 ? c : Long.compareUnsigned(seq, o.seq);
    }

    public boolean after(StreamId o) {
        return compareTo(o) > 0;
    }

    @Override
    public String toString() {
        return Long.toUnsignedString(millis) + "-" + Long.toUnsignedString(seq);
    }
}
