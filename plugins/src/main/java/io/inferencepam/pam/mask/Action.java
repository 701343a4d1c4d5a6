package io.inferencepam.pam.mask;

/**
 * What happens to a value a detector found.
 *
 * @param keep for {@link Kind#PARTIAL}: how many trailing characters stay readable (capped at a
 *             quarter of the value, so a short value is never mostly revealed)
 */
public record Action(Kind kind, int keep) {
    public enum Kind {
        /** {@code [EMAIL]} */
        REDACT,
        /** {@code [CARD:****1111]} */
        PARTIAL,
        /** {@code [EMAIL:3f9a1c2b]}: HMAC-SHA256 under the runner's key, stable while the key is */
        HASH,
        /** the whole response is replaced by an error */
        BLOCK
    }

    public static final Action REDACT = new Action(Kind.REDACT, 0);
}
