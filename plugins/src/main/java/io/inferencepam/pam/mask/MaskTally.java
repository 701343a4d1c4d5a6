package io.inferencepam.pam.mask;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

/** Counts of masked values per detector for one response; confined to the call that owns it. */
public final class MaskTally {
    private final Map<String, Integer> counts = new LinkedHashMap<>();
    private String blockedBy;
    private boolean tokenData;

    void add(String detector) {
        counts.merge(detector, 1, Integer::sum);
    }

    void block(String detector) {
        if (blockedBy == null) {
            blockedBy = detector;
        }
    }

    /**
     * Records that the response carries per-token data (logprobs): each token is a piece of the
     * text, so a value masked in the text would still be readable token by token.
     */
    public void sawTokenData() {
        tokenData = true;
    }

    public boolean tokenData() {
        return tokenData;
    }

    /** Adds another tally's counts (and its block request) to this one. */
    public void addAll(MaskTally other) {
        other.counts.forEach((k, v) -> counts.merge(k, v, Integer::sum));
        tokenData |= other.tokenData;
        if (other.blockedBy != null) {
            block(other.blockedBy);
        }
    }

    public Map<String, Integer> counts() {
        return Map.copyOf(counts);
    }

    /** Nothing counted, blocked or noted. */
    public boolean isEmpty() {
        return counts.isEmpty() && blockedBy == null && !tokenData;
    }

    public int total() {
        int t = 0;
        for (int v : counts.values()) {
            t += v;
        }
        return t;
    }

    /** The first detector whose action is block, or null. */
    public String blockedBy() {
        return blockedBy;
    }

    /** {@code email=2,card=1}: detector names and numbers only, never values. */
    public String header() {
        StringJoiner j = new StringJoiner(",");
        counts.forEach((k, v) -> j.add(k + "=" + v));
        return j.toString();
    }
}
