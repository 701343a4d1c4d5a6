package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Checks audit entries read back in storage order and says exactly what was tampered with:
 * <ul>
 *   <li>{@code MODIFIED} — an entry's content no longer matches its hash, or it was rewritten and
 *       re-hashed so the next entry no longer points at it;</li>
 *   <li>{@code DELETED} — a sequence number is missing inside the chain;</li>
 *   <li>{@code INSERTED} — an entry that is not part of the chain (no chain fields, or a second
 *       entry claiming a sequence number that the chain does not link to);</li>
 *   <li>{@code REORDERED} — an entry stored after one with a higher sequence number;</li>
 *   <li>{@code DUPLICATE} — the same entry stored twice;</li>
 *   <li>{@code BAD_SIGNATURE} — a checkpoint whose Ed25519 signature does not verify;</li>
 *   <li>{@code UNSIGNED_CHECKPOINT} — a checkpoint without a signature: the writer stores one when
 *       signing failed (and counts it in {@code pam_audit_checkpoints_unsigned}); otherwise its
 *       signature was removed. Reported with or without a public key.</li>
 * </ul>
 * Limits (documented): entries after the last signed checkpoint can be truncated undetectably
 * (reported as an unsigned tail), and missing entries before the first stored one are reported as
 * a note (retention trims the head), unless {@code expectCompleteHead}.
 */
public final class ChainVerifier {

    public enum Kind { MODIFIED, DELETED, INSERTED, REORDERED, DUPLICATE, BAD_SIGNATURE, UNSIGNED_CHECKPOINT }

    public record Finding(Kind kind, String instance, long seq, String position, String detail) {
        @Override
        public String toString() {
            return kind + " instance=" + instance + " seq=" + (seq < 0 ? "?" : Long.toString(seq))
                    + (position == null ? "" : " at " + position) + ": " + detail;
        }
    }

    /** Per instance: how many entries, the last sequence number, the last one a valid signature covers. */
    public record InstanceSummary(String instance, long entries, long firstSeq, long lastSeq, long lastSignedSeq) {
    }

    public record Report(long entries, List<Finding> findings, List<InstanceSummary> instances, List<String> notes) {
        public boolean clean() {
            return findings.isEmpty();
        }
    }

    private record Parsed(int index, StoredEntry stored, JsonNode node, long seq, String hash, boolean selfOk) {
    }

    private final Optional<PublicKey> publicKey;
    private final boolean expectCompleteHead;

    public ChainVerifier(Optional<PublicKey> publicKey, boolean expectCompleteHead) {
        this.publicKey = publicKey;
        this.expectCompleteHead = expectCompleteHead;
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
            byInstance.computeIfAbsent(n.get(HashChain.INSTANCE).asText(), k -> new ArrayList<>())
                    .add(new Parsed(i, e, n, n.get(HashChain.SEQ).asLong(), hash, HashChain.hashOf(n).equals(hash)));
        }
        List<InstanceSummary> summaries = new ArrayList<>();
        for (var inst : byInstance.entrySet()) {
            summaries.add(verifyInstance(inst.getKey(), inst.getValue(), findings, notes));
        }
        return new Report(entries.size(), findings, summaries, notes);
    }

    private InstanceSummary verifyInstance(String instance, List<Parsed> stored, List<Finding> findings, List<String> notes) {
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
        if (first > 1) {
            if (expectCompleteHead) {
                findings.add(new Finding(Kind.DELETED, instance, 1, null, "seq 1.." + (first - 1) + " missing before the first stored entry"));
            } else {
                notes.add("instance " + instance + ": seq 1.." + (first - 1)
                        + " not stored (trimmed by retention, or deleted: use --complete to treat as deletion)");
            }
        }
        String prevHash = first == 1 ? HashChain.GENESIS : null; // unknown when the head is trimmed
        long expected = first;
        boolean linkKnownBroken = false;
        long lastSigned = 0;
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
                    findings.add(new Finding(Kind.MODIFIED, instance, seq, c.stored().position(), "content does not match its hash"));
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
            if (!genuine.selfOk()) {
                findings.add(new Finding(Kind.MODIFIED, instance, seq, genuine.stored().position(), "content does not match its hash"));
            } else if (prevHash != null && !genuine.node().get(HashChain.PREV).asText().equals(prevHash) && !linkKnownBroken) {
                Parsed before = bySeq.containsKey(seq - 1) ? pick(bySeq.get(seq - 1), prevHash) : null;
                findings.add(new Finding(Kind.MODIFIED, instance, seq - 1, before == null ? null : before.stored().position(),
                        "rewritten and re-hashed: seq " + seq + " points at a different hash"));
            }
            if ("checkpoint".equals(genuine.node().path("kind").asText()) && genuine.selfOk()) {
                String sig = genuine.node().path(HashChain.SIG).asText("");
                if (sig.isEmpty()) {
                    findings.add(new Finding(Kind.UNSIGNED_CHECKPOINT, instance, seq, genuine.stored().position(),
                            "checkpoint has no signature (signing failed at the runner, see pam_audit_checkpoints_unsigned; or it was removed)"));
                } else if (publicKey.isPresent()) {
                    if (CheckpointSigner.verify(publicKey.get(), genuine.hash(), sig)) {
                        lastSigned = seq;
                    } else {
                        findings.add(new Finding(Kind.BAD_SIGNATURE, instance, seq, genuine.stored().position(),
                                "checkpoint signature does not verify with the given public key"));
                    }
                }
            }
            prevHash = genuine.hash();
            expected = seq + 1;
            linkKnownBroken = false;
        }
        long last = bySeq.lastKey();
        if (publicKey.isPresent() && last > lastSigned) {
            notes.add("instance " + instance + ": seq " + (lastSigned + 1) + ".." + last
                    + " are after the last signed checkpoint (a truncation there would not be detectable)");
        } else if (publicKey.isEmpty()) {
            notes.add("instance " + instance + ": checkpoint signatures not checked (no public key given)");
        }
        return new InstanceSummary(instance, stored.size(), first, last, lastSigned);
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
