package io.inferencepam.pam.approval;

import io.inferencepam.pam.core.Principal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Approval ids and the Redis keys of one principal's approvals (layout: {@code redis-schema/README.md}).
 *
 * <p>All the keys of a principal's approvals share one hash tag, the principal tag (a hash of
 * issuer and subject), so the one script that decides what a held call may do — use an approved
 * approval, join a pending one, or open a new one within the principal's cap — reads and writes
 * them atomically, on Redis Cluster too. The id carries the tag, so the key of an approval is
 * known from its id alone.
 */
final class ApprovalKeys {
    static final String PREFIX = "pam:approval:";
    /** The reviewers' list of pending approvals, across principals (an index: the hashes are the truth). */
    static final String PENDING_INDEX = "pam:{approvals}:pending";
    /** Approvals whose expiry a recording runner is to put in the audit trail (same slot as {@link #PENDING_INDEX}). */
    static final String EXPIRIES = "pam:{approvals}:expiries";
    /**
     * Approvals being opened whose {@code held} event is not yet known to be in the trail (same slot): listed before
     * the admit script creates the approval, dropped once the event is handed over, so the sweep finds an approval
     * whose runner died in between.
     */
    static final String OPENING = "pam:{approvals}:opening";
    private static final Pattern ID = Pattern.compile("apr_([0-9a-f]{20})_[0-9a-f]{32}");
    private static final HexFormat HEX = HexFormat.of();

    private ApprovalKeys() {
    }

    /** Issuer and subject: who a principal is, as compared when an approval is used or decided. */
    static String principalKey(Principal p) {
        return p.issuer() + "\n" + p.subject();
    }

    /** 80 bits of SHA-256(issuer \n subject): spreads principals over cluster slots. Not a secret. */
    static String principalTag(Principal p) {
        return HEX.formatHex(sha256(principalKey(p).getBytes(StandardCharsets.UTF_8)), 0, 10);
    }

    static String newId(String principalTag, SecureRandom random) {
        byte[] r = new byte[16];
        random.nextBytes(r);
        return "apr_" + principalTag + "_" + HEX.formatHex(r);
    }

    /** The principal tag inside a well-formed id. */
    static Optional<String> tagOf(String id) {
        var m = ID.matcher(id);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    static boolean isId(String s) {
        return s != null && ID.matcher(s).matches();
    }

    static String approval(String id) {
        return PREFIX + "{" + tagOf(id).orElseThrow() + "}:a:" + id;
    }

    static String fingerprintIndex(String principalTag, String fingerprint) {
        return PREFIX + "{" + principalTag + "}:fp:" + fingerprint;
    }

    static String open(String principalTag) {
        return PREFIX + "{" + principalTag + "}:open";
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
