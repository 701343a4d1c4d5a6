package io.inferencepam.pam.mask.detect;

/**
 * One sensitive value found in a text: {@code [start, end)} in UTF-16 units.
 *
 * @param rank the detector's rank in its set: on overlap the lower rank (more specific) wins
 */
public record Match(int start, int end, String detector, int rank) {
    public int length() {
        return end - start;
    }
}
