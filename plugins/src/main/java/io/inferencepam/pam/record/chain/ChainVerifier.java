package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks audit entries read back in storage order and says exactly what was tampered with:
 * <ul>
 *   <li>{@code MODIFIED} — an entry's content no longer matches its hash, or it was rewritten and
 *       re-hashed so the next entry no longer points at it;</li>
 *   <li>{@code DELETED} — a sequence number is missing inside the chain; entries missing before
 *       an instance's first stored one that retention cannot have removed; entries the runner
 *       stored that the store no longer holds ({@link Options#expectedHeads});</li>
 *   <li>{@code INSERTED} — an entry that is not part of the chain (no chain fields, or a second
 *       entry claiming a sequence number that the chain does not link to);</li>
 *   <li>{@code REORDERED} — an entry stored after one with a higher sequence number;</li>
 *   <li>{@code DUPLICATE} — the same entry stored twice;</li>
 *   <li>{@code BAD_SIGNATURE} — a checkpoint whose Ed25519 signature does not verify;</li>
 *   <li>{@code UNSIGNED_CHECKPOINT} — a checkpoint without a signature: the writer stores one when
 *       signing failed (and counts it in {@code pam_audit_checkpoints_unsigned}); otherwise its
 *       signature was removed. Reported with or without a public key;</li>
 *   <li>{@code POSSIBLE_TRUNCATION} — entries after an instance's newest checkpoint that were
 *       stored more than twice the checkpoint interval ago: the runner checkpoints within the
 *       interval once it wrote anything, so the checkpoint that covered them (and what came with
 *       it) may have been cut; or the runner died and has not been restarted since.</li>
 * </ul>
 * An instance is <em>verified</em> when a given public key verified its checkpoints; without
 * keys nothing is, and the report says so ({@link Report#verified}).
 */
public final class ChainVerifier {

    public enum Kind { MODIFIED, DELETED, INSERTED, REORDERED, DUPLICATE, BAD_SIGNATURE, UNSIGNED_CHECKPOINT, POSSIBLE_TRUNCATION,
        /** Archive findings (archive.ManifestCheck): about a segment file or the manifest, not one entry. */
        SEGMENT_MISSING, SEGMENT_MODIFIED, SEGMENT_UNLISTED, MANIFEST_BROKEN, ARCHIVE_TAIL_MISSING, STREAM_MISMATCH }

    public record Finding(Kind kind, String instance, long seq, String position, String detail) {
        @Override
        public String toString() {
            if (instance == null) { // an archive finding: position names the segment or manifest line
                return kind + " " + position + ": " + detail;
            }
            return kind + " instance=" + instance + " seq=" + (seq < 0 ? "?" : Long.toString(seq))
                    + (position == null ? "" : " at " + position) + ": " + detail;
        }
    }

    /**
     * Per instance: how many entries, the last sequence number, the last one a valid signature
     * covers, and whether a given key verified its checkpoints.
     */
    public record InstanceSummary(String instance, long entries, long firstSeq, long lastSeq, long lastSignedSeq, boolean verified) {
    }

    public record Report(long entries, List<Finding> findings, List<InstanceSummary> instances, List<String> notes, boolean verified) {
        public boolean clean() {
            return findings.isEmpty();
        }
    }

    /**
     * What retention may have removed from the head of the store. Retention only ever removes
     * the oldest entries; anything else missing was deleted.
     *
     * @param lengthLimitReached the store holds as many entries as its length limit (MAXLEN), so
     *                           its oldest entries may have been trimmed
     * @param maxAge             entries older than this may have been trimmed (zero: no age limit)
     */
    public record Retention(boolean lengthLimitReached, Duration maxAge) {
        /** Nothing is ever trimmed: every chain must be complete from its first entry. */
        public static final Retention NONE = new Retention(false, Duration.ZERO);
        /** Unknown (e.g. files given on the command line): a missing head may be retention. */
        public static final Retention UNKNOWN = new Retention(true, Duration.ZERO);
    }

    /**
     * @param keys               public keys of the runners' signing keys (checkpoints name theirs by {@code key_id})
     * @param expectCompleteHead every chain must be stored from seq 1 (no retention at all)
     * @param expectedHeads      chain heads the verifying runner knows it stored: the store must still hold them
     * @param defaultInterval    checkpoint interval for checkpoints that do not carry {@code interval_ms}
     */
    public record Options(List<PublicKey> keys, boolean expectCompleteHead, Retention retention, List<ChainHead> expectedHeads,
                          Clock clock, Duration defaultInterval) {
        public Options(List<PublicKey> keys, boolean expectCompleteHead) {
            this(keys, expectCompleteHead, Retention.UNKNOWN, List.of(), Clock.systemUTC(), Duration.ofMinutes(1));
        }
    }

    /** Clock skew allowed between runners, Redis and the verifier when times are compared. */
    static final Duration SKEW = Duration.ofMinutes(5);
    /**
     * Field of every checkpoint but a lifetime's anchor: when the previous checkpoint of the chain
     * was made (epoch ms, runner clock). Everything after it was linked later, which bounds how
     * old the entries before a chain's first stored one can be.
     */
    public static final String PREV_CHECKPOINT_AT = "prev_checkpoint_at";
    private static final Pattern STREAM_ID = Pattern.compile("(\\d{10,})-\\d+");

    private record Parsed(int index, StoredEntry stored, JsonNode node, long seq, String hash, boolean selfOk) {
    }

    private final Options options;
    private final Map<String, PublicKey> keysById = new HashMap<>();

    public ChainVerifier(Optional<PublicKey> publicKey, boolean expectCompleteHead) {
        this(new Options(publicKey.map(List::of).orElse(List.of()), expectCompleteHead));
    }

    public ChainVerifier(Options options) {
        this.options = options;
        for (PublicKey k : options.keys()) {
            keysById.put(CheckpointSigner.keyId(k), k);
        }
    }

    public Report verify(List<StoredEntry> entries) {
        List<Finding> findings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Map<String, List<Parsed>> byInstance = new LinkedHashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            StoredEntry e = entries.get(i);
            JsonNode n;
            try {
                n = CanonicalJson.parse(e.json());
            } catch (Exception ex) {
                findings.add(new Finding(Kind.MODIFIED, "?", -1, e.position(), "entry is not valid JSON"));
                continue;
            }
            if (n == null || !n.isObject() || !n.path(HashChain.INSTANCE).isTextual() || !n.path(HashChain.SEQ).canConvertToLong()
                    || !n.path(HashChain.HASH).isTextual() || !n.path(HashChain.PREV).isTextual()) {
                findings.add(new Finding(Kind.INSERTED, n != null ? n.path(HashChain.INSTANCE).asText("?") : "?", -1, e.position(),
                        "entry carries no chain fields (instance, seq, prev, hash)"));
                continue;
            }
            String hash = n.get(HashChain.HASH).asText();
            // The hash covers the parsed entry's canonical form, so the stored text must be that
            // form itself: a duplicate key (the parser keeps the last, other readers the first),
            // escapes or spacing would otherwise change what a reader sees under a matching hash.
            // Entries written before the form became RFC 8785 verify in the form they were written in (PreJcsForm).
            boolean selfOk;
            try {
                String canonical = CanonicalJson.write(n);
                selfOk = canonical.equals(e.json()) ? HashChain.hashOf(n).equals(hash)
                        : PreJcsForm.verifies((com.fasterxml.jackson.databind.node.ObjectNode) n, canonical, e.json(), hash);
            } catch (RuntimeException notCanonical) { // e.g. two names that differ only in lone surrogates (escaped in the text)
                selfOk = false;
            }
            byInstance.computeIfAbsent(n.get(HashChain.INSTANCE).asText(), k -> new ArrayList<>())
                    .add(new Parsed(i, e, n, n.get(HashChain.SEQ).asLong(), hash, selfOk));
        }
        Map<String, ChainHead> expected = new HashMap<>();
        for (ChainHead h : options.expectedHeads()) {
            expected.put(h.instance(), h);
        }
        Optional<Instant> oldestStored = entries.isEmpty() ? Optional.empty() : streamTime(entries.get(0));
        List<InstanceSummary> summaries = new ArrayList<>();
        for (var inst : byInstance.entrySet()) {
            summaries.add(verifyInstance(inst.getKey(), inst.getValue(), expected.remove(inst.getKey()), oldestStored, findings, notes));
        }
        for (ChainHead h : expected.values()) {
            findings.add(new Finding(Kind.DELETED, h.instance(), h.seq(), null, "the runner writing this instance stored it up to seq "
                    + h.seq() + "; the store holds none of its entries"));
        }
        if (options.keys().isEmpty()) {
            notes.add("no public key given: checkpoint signatures not checked, nothing is verified");
        } else if (summaries.isEmpty()) {
            notes.add("the store holds no chain entries: no signed checkpoint, nothing is verified");
        }
        // an empty store (or one emptied) is not "verified": nothing signed vouches for it
        boolean verified = !options.keys().isEmpty() && !summaries.isEmpty() && summaries.stream().allMatch(InstanceSummary::verified);
        return new Report(entries.size(), findings, summaries, notes, verified);
    }

    private InstanceSummary verifyInstance(String instance, List<Parsed> stored, ChainHead expectedHead, Optional<Instant> oldestStored,
                                           List<Finding> findings, List<String> notes) {
        // 1. storage order must follow sequence order
        long maxSeen = 0;
        for (Parsed p : stored) {
            if (p.seq() < maxSeen) {
                findings.add(new Finding(Kind.REORDERED, instance, p.seq(), p.stored().position(),
                        "stored after seq " + maxSeen));
            }
            maxSeen = Math.max(maxSeen, p.seq());
        }
        // 2. walk the chain by sequence number
        TreeMap<Long, List<Parsed>> bySeq = new TreeMap<>();
        for (Parsed p : stored) {
            bySeq.computeIfAbsent(p.seq(), k -> new ArrayList<>()).add(p);
        }
        long first = bySeq.firstKey();
        String prevHash = first == 1 ? HashChain.GENESIS : null; // unknown when the head is trimmed
        long expected = first;
        boolean linkKnownBroken = false;
        long lastSigned = 0;
        Parsed newestCheckpoint = null;
        boolean anyKnownKey = false;
        boolean unknownKey = false;
        Map<Long, String> genuineHashes = new HashMap<>();
        List<Parsed> anchors = new ArrayList<>();
        Parsed firstCheckpoint = null;
        String lifetimeKey = null; // the key that signs the current lifetime (from its anchor on)
        for (var e : bySeq.entrySet()) {
            long seq = e.getKey();
            if (seq > expected) {
                findings.add(new Finding(Kind.DELETED, instance, expected, null,
                        expected == seq - 1 ? "seq " + expected + " missing" : "seq " + expected + ".." + (seq - 1) + " missing"));
                linkKnownBroken = true;
            }
            List<Parsed> cands = e.getValue();
            Parsed genuine = choose(cands, prevHash, bySeq.get(seq + 1));
            for (Parsed c : cands) {
                if (c == genuine) {
                    continue;
                }
                if (genuine != null && c.hash().equals(genuine.hash()) && c.selfOk()) {
                    findings.add(new Finding(Kind.DUPLICATE, instance, seq, c.stored().position(), "same entry stored twice"));
                } else if (!c.selfOk() && cands.size() == 1) {
                    findings.add(new Finding(Kind.MODIFIED, instance, seq, c.stored().position(), "content does not match its hash (or is not stored in its canonical form)"));
                } else {
                    findings.add(new Finding(Kind.INSERTED, instance, seq, c.stored().position(),
                            "a second entry claims this sequence number; the chain does not link to it"));
                }
            }
            if (genuine == null) {
                // the only candidates are not self-consistent: reported above as MODIFIED
                Parsed only = cands.get(0);
                prevHash = only.hash();
                expected = seq + 1;
                linkKnownBroken = false;
                continue;
            }
            genuineHashes.put(seq, genuine.hash());
            if (!genuine.selfOk()) {
                findings.add(new Finding(Kind.MODIFIED, instance, seq, genuine.stored().position(), "content does not match its hash (or is not stored in its canonical form)"));
            } else if (prevHash != null && !genuine.node().get(HashChain.PREV).asText().equals(prevHash) && !linkKnownBroken) {
                Parsed before = bySeq.containsKey(seq - 1) ? pick(bySeq.get(seq - 1), prevHash) : null;
                findings.add(new Finding(Kind.MODIFIED, instance, seq - 1, before == null ? null : before.stored().position(),
                        "rewritten and re-hashed: seq " + seq + " points at a different hash"));
            }
            if ("checkpoint".equals(genuine.node().path("kind").asText()) && genuine.selfOk()) {
                newestCheckpoint = genuine;
                firstCheckpoint = firstCheckpoint == null ? genuine : firstCheckpoint;
                boolean isAnchor = genuine.node().path("anchor").isObject();
                if (isAnchor) {
                    anchors.add(genuine);
                }
                String sig = genuine.node().path(HashChain.SIG).asText("");
                String keyId = genuine.node().path("key_id").asText("");
                if (sig.isEmpty()) {
                    findings.add(new Finding(Kind.UNSIGNED_CHECKPOINT, instance, seq, genuine.stored().position(),
                            "checkpoint has no signature (signing failed at the runner, see pam_audit_checkpoints_unsigned; or it was removed)"));
                    lifetimeKey = isAnchor ? null : lifetimeKey;
                } else {
                    // key_id names the key; a checkpoint without one may be signed by any given key
                    Map<String, PublicKey> candidates = keyId.isEmpty() ? keysById
                            : Optional.ofNullable(keysById.get(keyId)).map(k -> Map.of(keyId, k)).orElse(Map.of());
                    String verifiedBy = null;
                    for (var k : candidates.entrySet()) {
                        if (CheckpointSigner.verify(k.getValue(), genuine.hash(), sig)) {
                            verifiedBy = k.getKey();
                            break;
                        }
                    }
                    String signer = keyId.isEmpty() ? verifiedBy : keyId;
                    if (signer != null && lifetimeKey != null && !isAnchor && !signer.equals(lifetimeKey)) {
                        // a runner signs one lifetime with one key: a new key only ever comes with a new anchor
                        anyKnownKey |= !options.keys().isEmpty();
                        findings.add(new Finding(Kind.BAD_SIGNATURE, instance, seq, genuine.stored().position(), "checkpoint "
                                + "signed with key " + signer + ", its lifetime (from its anchor on) with key " + lifetimeKey));
                    } else if (options.keys().isEmpty()) {
                        // nothing to check it with: the report says so
                    } else if (candidates.isEmpty()) {
                        unknownKey = true;
                        notes.add("instance " + instance + ": checkpoint seq " + seq + " is signed with key " + keyId
                                + ", which is not among the given public keys: not verified");
                    } else if (verifiedBy != null) {
                        lastSigned = seq;
                        anyKnownKey = true;
                    } else {
                        anyKnownKey = true;
                        findings.add(new Finding(Kind.BAD_SIGNATURE, instance, seq, genuine.stored().position(),
                                "checkpoint signature does not verify with the given public key"));
                    }
                    if (isAnchor || lifetimeKey == null) {
                        lifetimeKey = signer;
                    }
                }
            }
            prevHash = genuine.hash();
            expected = seq + 1;
            linkKnownBroken = false;
        }
        if (first > 1) {
            missingHead(instance, first, firstCheckpoint, oldestStored, findings, notes);
        }
        long last = bySeq.lastKey();
        checkAnchors(instance, anchors, genuineHashes, findings, notes);
        checkTail(instance, bySeq, newestCheckpoint, findings);
        if (expectedHead != null) {
            checkExpectedHead(instance, expectedHead, last, genuineHashes, findings);
        }
        boolean verified = anyKnownKey && !unknownKey;
        if (!options.keys().isEmpty() && last > lastSigned) {
            notes.add("instance " + instance + ": seq " + (lastSigned + 1) + ".." + last
                    + " are after the last signed checkpoint (covered once the runner checkpoints them, within its interval)");
        }
        if (!options.keys().isEmpty() && !anyKnownKey && !unknownKey) {
            notes.add("instance " + instance + ": no signed checkpoint: not verified");
        }
        return new InstanceSummary(instance, stored.size(), first, last, lastSigned, verified);
    }

    /**
     * Entries missing before an instance's first stored one: retention, unless retention cannot
     * have removed them. Retention removes the stream's oldest entries first, by length (only once
     * the stream holds its length limit) or by age. So they were deleted when nothing is ever
     * trimmed, or when the signed first checkpoint after them says they became durable after the
     * oldest entry still stored (length) or after the age limit (age).
     */
    private void missingHead(String instance, long first, Parsed firstCheckpoint, Optional<Instant> oldestStored,
                             List<Finding> findings, List<String> notes) {
        String range = first == 2 ? "seq 1" : "seq 1.." + (first - 1);
        if (options.expectCompleteHead()) {
            findings.add(new Finding(Kind.DELETED, instance, 1, null, range + " missing before the first stored entry"));
            return;
        }
        long madeAt = newestMissingMadeAt(first, firstCheckpoint);
        long skew = SKEW.toMillis();
        Retention r = options.retention();
        boolean byLength = r.lengthLimitReached() && (madeAt < 0 || oldestStored.isEmpty() || madeAt < oldestStored.get().toEpochMilli() + skew);
        boolean byAge = !r.maxAge().isZero() && (madeAt < 0 || madeAt < options.clock().millis() - r.maxAge().toMillis() + skew);
        if (!byLength && !byAge) {
            findings.add(new Finding(Kind.DELETED, instance, 1, null, range + " missing before the first stored entry, and "
                    + "retention cannot have removed them (" + (r.lengthLimitReached()
                    ? "they were made after the oldest entry still stored" : "the store is below its length limit")
                    + (r.maxAge().isZero() ? ", no age limit)" : ", and they are younger than the age limit)")));
            return;
        }
        notes.add("instance " + instance + ": " + range
                + " not stored (trimmed by retention, or deleted: use --complete to treat as deletion)");
    }

    /**
     * When the newest entry missing before {@code first} was made, at the earliest (epoch ms), or
     * -1 when nothing signed says: the anchor at {@code first} names when the previous lifetime's
     * last entry became durable; any other first checkpoint names when the checkpoint before it
     * was made, and every entry between them was linked after that.
     */
    private static long newestMissingMadeAt(long first, Parsed firstCheckpoint) {
        if (firstCheckpoint == null) {
            return -1;
        }
        JsonNode cp = firstCheckpoint.node();
        if (cp.path("anchor").isObject()) {
            JsonNode prevAt = cp.get("anchor").path("prev_at");
            return firstCheckpoint.seq() == first && prevAt.canConvertToLong() ? prevAt.asLong() : -1;
        }
        return cp.path(PREV_CHECKPOINT_AT).canConvertToLong() ? cp.get(PREV_CHECKPOINT_AT).asLong() : -1;
    }

    /** An anchor (a lifetime's first entry) names what it linked to; a re-anchoring on the store is reported. */
    private void checkAnchors(String instance, List<Parsed> anchors, Map<Long, String> genuineHashes, List<Finding> findings,
                              List<String> notes) {
        for (Parsed a : anchors) {
            JsonNode anchor = a.node().get("anchor");
            String source = anchor.path("source").asText("");
            if (source.equals("store")) {
                notes.add("instance " + instance + ": re-anchored at seq " + a.seq() + " (" + a.node().path("ts").asText()
                        + ") on the store's newest entry, because the runner's local chain head was missing (a fresh disk): "
                        + "a cut of this instance's entries before seq " + a.seq() + " made before then is not detectable");
            }
            if (anchor.path("local_seq").canConvertToLong()) {
                long ls = anchor.get("local_seq").asLong();
                String have = genuineHashes.get(ls);
                if (have != null && !have.equals(anchor.path("local_hash").asText())) {
                    findings.add(new Finding(Kind.MODIFIED, instance, ls, null, "the runner's local chain head at its restart (seq "
                            + a.seq() + ") names a different entry at this sequence number"));
                }
            }
        }
    }

    /** Entries the newest checkpoint does not cover, stored long enough ago that one should have followed. */
    private void checkTail(String instance, TreeMap<Long, List<Parsed>> bySeq, Parsed newestCheckpoint, List<Finding> findings) {
        long covered = newestCheckpoint == null ? 0 : newestCheckpoint.seq();
        var after = bySeq.tailMap(covered, false);
        if (after.isEmpty()) {
            return;
        }
        Parsed oldest = after.firstEntry().getValue().get(0);
        Optional<Instant> at = storedAt(oldest.stored(), oldest.node());
        if (at.isEmpty()) {
            return;
        }
        Duration interval = newestCheckpoint != null && newestCheckpoint.node().path("interval_ms").canConvertToLong()
                ? Duration.ofMillis(newestCheckpoint.node().get("interval_ms").asLong()) : options.defaultInterval();
        Duration age = Duration.between(at.get(), options.clock().instant());
        if (age.compareTo(interval.multipliedBy(2)) > 0) {
            findings.add(new Finding(Kind.POSSIBLE_TRUNCATION, instance, oldest.seq(), oldest.stored().position(),
                    "seq " + oldest.seq() + ".." + after.lastKey() + " are not covered by a checkpoint " + age.toSeconds()
                            + " s after being stored (the runner checkpoints within " + interval.toMillis() + " ms): the "
                            + "checkpoint after them may have been cut; or the runner died and was not restarted, or cannot reach "
                            + "the store since (pam_audit_store_up)"));
        }
    }

    private static void checkExpectedHead(String instance, ChainHead h, long last, Map<Long, String> genuineHashes, List<Finding> findings) {
        if (last < h.seq()) {
            findings.add(new Finding(Kind.DELETED, instance, last + 1, null, "seq " + (last + 1) + ".." + h.seq()
                    + " were stored by the runner writing this instance and are no longer in the store"));
            return;
        }
        String have = genuineHashes.get(h.seq());
        if (have != null && !have.equals(h.hash())) {
            findings.add(new Finding(Kind.MODIFIED, instance, h.seq(), null,
                    "the runner writing this instance stored a different entry at this sequence number"));
        }
    }

    /** When an entry was stored: a Redis stream id's time, else the entry's own time fields. */
    static Optional<Instant> storedAt(StoredEntry e, JsonNode node) {
        Optional<Instant> inStream = streamTime(e);
        if (inStream.isPresent()) {
            return inStream;
        }
        try {
            JsonNode n = node != null ? node : CanonicalJson.parse(e.json());
            for (String f : new String[] {"ts", "end", "start"}) {
                if (n.path(f).isTextual()) {
                    return Optional.of(Instant.parse(n.get(f).asText()));
                }
            }
        } catch (Exception ex) {
            // no usable time
        }
        return Optional.empty();
    }

    /** The time of an entry's Redis stream id (the store's clock), if it has one. */
    private static Optional<Instant> streamTime(StoredEntry e) {
        Matcher m = e.position() == null ? null : STREAM_ID.matcher(e.position());
        return m != null && m.matches() ? Optional.of(Instant.ofEpochMilli(Long.parseLong(m.group(1)))) : Optional.empty();
    }

    /** The candidate the chain links to: self-consistent, pointing at {@code prevHash}, pointed at by the next seq. */
    private static Parsed choose(List<Parsed> cands, String prevHash, List<Parsed> next) {
        List<Parsed> ok = new ArrayList<>();
        for (Parsed c : cands) {
            if (c.selfOk() && (prevHash == null || c.node().get(HashChain.PREV).asText().equals(prevHash))) {
                ok.add(c);
            }
        }
        if (ok.isEmpty()) {
            for (Parsed c : cands) {
                if (c.selfOk()) {
                    ok.add(c); // link broken (the previous entry was rewritten): still follow the chain
                }
            }
        }
        if (ok.isEmpty()) {
            return cands.size() == 1 ? null : cands.get(0);
        }
        if (ok.size() > 1 && next != null) {
            for (Parsed c : ok) {
                for (Parsed n : next) {
                    if (n.node().get(HashChain.PREV).asText().equals(c.hash())) {
                        return c;
                    }
                }
            }
        }
        return ok.get(0);
    }

    private static Parsed pick(List<Parsed> cands, String hash) {
        for (Parsed c : cands) {
            if (c.hash().equals(hash)) {
                return c;
            }
        }
        return cands.get(0);
    }
}
