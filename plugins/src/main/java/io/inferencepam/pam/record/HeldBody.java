package io.inferencepam.pam.record;

import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.runner.spi.Body;
import java.nio.ByteBuffer;

/**
 * A body a pending call holds for its record, capped: once {@link #settle settled}, only its
 * length, its SHA-256 and at most {@code keep} bytes of it stay in memory. A call settles its
 * request body when its admitted entry is built (moments after it passed, on the audit writer's
 * thread), so a call whose upstream runs for minutes holds at most {@code max_body_bytes} of it
 * ({@code 0} with {@code request_body: false}), not the whole body. Settling hashes the whole body
 * once; the final record reuses the hash.
 */
final class HeldBody {
    /** What the record needs of a body: its length and hash (of the whole), and the bytes kept. */
    record Summary(int length, String sha256, Body kept, boolean truncated) {
    }

    private final int keep;
    private Body whole;
    private Summary summary;

    HeldBody(Body body, int keep) {
        this.whole = body;
        this.keep = Math.max(0, keep);
    }

    /** Hashes the whole body and lets it go, keeping at most {@code keep} bytes (idempotent). */
    synchronized Summary settle() {
        if (summary == null) {
            int length = whole.length();
            String sha = HashChain.sha256Hex(whole.asReadOnlyBuffer());
            Body kept = whole;
            if (length > keep) {
                byte[] prefix = new byte[keep];
                ByteBuffer b = whole.asReadOnlyBuffer();
                b.get(prefix);
                kept = Body.wrap(prefix);
            }
            summary = new Summary(length, sha, kept, length > keep);
            whole = null;
        }
        return summary;
    }

    /** Bytes held now (for tests of the cap). */
    synchronized int heldBytes() {
        return summary == null ? whole.length() : summary.kept().length();
    }
}
